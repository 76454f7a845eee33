"""The system Chromium that the console's browser tests and benchmark drive with Playwright."""

from __future__ import annotations

import os
import shutil

# Headless, no sandbox (root in CI), nothing that reaches the network on its own.
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
INSTALL_HINT = "no Chromium for the console: apt-get install chromium (or set LLMOPS_CHROMIUM)"


def chromium_path() -> str | None:
    """``$LLMOPS_CHROMIUM``, or the system Chromium (Debian's ``chromium``, Ubuntu's ``chromium-browser``)."""
    configured = os.environ.get("LLMOPS_CHROMIUM")
    if configured:
        return configured
    return next(filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None)
