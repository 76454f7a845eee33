#!/usr/bin/env python
"""Django's command-line utility; puts ``platform/`` (a source folder, not a package) on the path."""

import os
import sys
from pathlib import Path


def main() -> None:
    """Run a management command."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmops.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # e.g. a bad variable: one line naming it, not a traceback
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
