"""GraphiQL, the in-browser IDE served at ``/graphql`` when enabled (development only), offline.

strawberry's own page loads React and GraphiQL from a CDN, so without internet it stays on
"Loading...". Ours loads them from this app: the built files are committed under
``graphql_api/static/graphiql/`` (versions and licences in the README there) and served at
``/graphql/assets/`` only while GraphiQL is enabled. The page holds no inline script or style,
so its Content-Security-Policy allows scripts and styles from ``'self'`` only.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

__all__ = ["ASSETS_DIR", "ASSETS_PATH", "CONTENT_SECURITY_POLICY", "assets_mount", "graphiql_page"]

ASSETS_PATH = "/graphql/assets"
ASSETS_DIR = Path(__file__).with_name("static") / "graphiql"

#: Everything from this app, nothing from elsewhere. ``connect-src 'self'`` covers the GraphQL
#: requests and the same-origin WebSocket of subscriptions (CSP Level 3 matches ws: and wss:).
#: ``data:`` images and fonts are GraphiQL's icons and fonts, embedded in its stylesheet.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>identity-store GraphiQL</title>
    <link rel="stylesheet" href="{assets}/graphiql.min.css">
    <link rel="stylesheet" href="{assets}/page.css">
    <script src="{assets}/react.production.min.js" defer></script>
    <script src="{assets}/react-dom.production.min.js" defer></script>
    <script src="{assets}/graphiql.min.js" defer></script>
    <script src="{assets}/start.js" defer></script>
  </head>
  <body>
    <div id="graphiql">Loading...</div>
    <noscript>GraphiQL needs JavaScript.</noscript>
  </body>
</html>
"""


def graphiql_page(root_path: str = "") -> HTMLResponse:
    """The IDE's page; ``root_path`` is the prefix the app is served under (ASGI ``root_path``)."""
    html = _PAGE.format(assets=escape(root_path.rstrip("/") + ASSETS_PATH, quote=True))
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def assets_mount() -> Mount:
    """``/graphql/assets/<file>``: the page's scripts and styles, read from the package."""
    return Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")
