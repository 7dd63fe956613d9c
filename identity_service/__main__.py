"""``python -m identity_service``: the ``identity-store`` command line."""

from __future__ import annotations

import sys

from identity_service.cli import main

sys.exit(main())
