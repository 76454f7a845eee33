"""``python -m devservices.embedded start|stop|status|urls [--only postgres|redis]``."""

from __future__ import annotations

import sys

from devservices.embedded.cli import main

if __name__ == "__main__":
    sys.exit(main())
