"""``python -m llmops.localmodels``: see :mod:`llmops.localmodels.cli`."""

from __future__ import annotations

from llmops.localmodels.cli import main

raise SystemExit(main())
