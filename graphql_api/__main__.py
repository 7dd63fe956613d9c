"""``python -m graphql_api export-schema``: write the SDL to ``graphql_api/schema.graphql``."""

from __future__ import annotations

import sys

from graphql_api.schema import SDL_PATH, sdl


def main(argv: list[str]) -> int:
    if argv != ["export-schema"]:
        sys.stderr.write("usage: python -m graphql_api export-schema\n")
        return 2
    SDL_PATH.write_text(sdl())
    sys.stdout.write(f"wrote {SDL_PATH}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
