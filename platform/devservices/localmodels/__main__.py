"""``python -m devservices.localmodels``: see :mod:`devservices.localmodels.cli`."""

from __future__ import annotations

from devservices.localmodels.cli import main

raise SystemExit(main())
