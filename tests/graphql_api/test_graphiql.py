"""GraphiQL works offline: the page and every asset it loads come from the app itself.

The page is fetched through the composed app (create_app) with GraphiQL enabled; every
``<script src>`` and ``<link href>`` in it is followed through the same app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from identity_service.app import create_app
from identity_service.settings import Settings

BASE_URL = "http://identity.test"


class _Page(HTMLParser):
    """The URLs a page loads, and whether it holds any inline script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if found.get("src"):
                self.urls.append(str(found["src"]))
            self._tag = tag
        elif tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))
        elif tag == "style":
            self._tag = tag
        if any(name.startswith("on") or name == "style" for name, _ in attrs):
            self.inline.append(f"{tag} attributes {sorted(found)}")

    def handle_endtag(self, tag: str) -> None:
        self._tag = None

    def handle_data(self, data: str) -> None:
        if self._tag in {"script", "style"} and data.strip():
            self.inline.append(f"<{self._tag}> {data.strip()[:40]}")


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture
async def ide(database_uri: str, database_name: str) -> AsyncIterator[httpx.AsyncClient]:
    """The service with GraphiQL enabled, as ``IDENTITY_GRAPHIQL=true`` starts it."""
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name, graphiql=True))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield client


async def _page(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/graphql", headers={"Accept": "text/html"})


async def test_every_script_and_stylesheet_of_the_page_is_served_by_the_app(ide: httpx.AsyncClient) -> None:
    """Each URL the page loads points at the app itself and answers 200 with a body."""
    page = await _page(ide)
    assert page.status_code == 200
    urls = _parse(page.text).urls
    assert len(urls) >= 4, urls  # React, ReactDOM, GraphiQL, its start script, and the styles
    for url in urls:
        absolute = urljoin(f"{BASE_URL}/graphql", url)
        assert urlsplit(absolute).netloc == urlsplit(BASE_URL).netloc, f"{url} points outside the app"
        asset = await ide.get(absolute)
        assert asset.status_code == 200, url
        assert asset.content, url


async def test_the_assets_have_script_and_style_media_types(ide: httpx.AsyncClient) -> None:
    """Browsers refuse a script or stylesheet served with another type (nosniff), so the types must be right."""
    for url in _parse((await _page(ide)).text).urls:
        kind = (await ide.get(url)).headers["content-type"]
        expected = "javascript" if url.endswith(".js") else "text/css"
        assert expected in kind, (url, kind)


async def test_the_page_allows_scripts_and_styles_from_the_app_only(ide: httpx.AsyncClient) -> None:
    """The Content-Security-Policy names 'self' alone for scripts and styles, without 'unsafe-inline'."""
    policy = (await _page(ide)).headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'none'"]
    assert "unsafe" not in policy


async def test_the_page_holds_no_inline_script_or_style(ide: httpx.AsyncClient) -> None:
    """Nothing in the page would need 'unsafe-inline': no script or style element with a body, no handlers."""
    assert _parse((await _page(ide)).text).inline == []


async def test_the_page_names_no_other_host(ide: httpx.AsyncClient) -> None:
    """Not a CDN, not a font service: the page works without internet."""
    html = (await _page(ide)).text
    assert "http://" not in html
    assert "https://" not in html
    assert "//" not in html.replace("<!doctype html>", "")


async def test_the_start_script_sends_the_headers_tab_as_the_api_key(ide: httpx.AsyncClient) -> None:
    """The IDE opens with the Headers tab showing where the API key goes, and does not store it."""
    script = (await ide.get("/graphql/assets/start.js")).text
    assert '"Authorization": "Bearer <api key>"' in script
    assert "shouldPersistHeaders: false" in script


async def test_the_assets_are_not_served_when_graphiql_is_off(database_uri: str, database_name: str) -> None:
    """In production (GraphiQL off) /graphql/assets/ serves nothing."""
    app = create_app(Settings(mongodb_uri=database_uri, database=database_name))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        asset = await client.get("/graphql/assets/graphiql.min.js")
    assert asset.status_code == 404
    assert "GraphiQL" not in asset.text
