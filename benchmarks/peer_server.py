"""scim2-server's ASGI application with its in-memory storage, under uvicorn: the peer that
``benchmarks/peer.py`` measures our service against. Needs the ``peer`` extra
(``pip install -e '.[peer]'``); it accepts every request, as scim2-server does without a token.

    .venv/bin/python benchmarks/peer_server.py --port 8124
"""

from __future__ import annotations

import argparse

import uvicorn
from scim2_models import ScimProvider
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.service import ScimService
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=load_default_service_provider_config(),
    )
    app = ASGIApplication(AsyncInMemoryStorage(), provider, ScimService(provider))
    uvicorn.run(app, host="127.0.0.1", port=arguments.port, log_level="warning")


if __name__ == "__main__":
    main()
