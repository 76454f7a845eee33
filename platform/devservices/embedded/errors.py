"""Errors raised by the embedded services.

Every message is one line that names the cause and the fix, so the CLI can print it as it is.
"""

from __future__ import annotations


class EmbeddedError(RuntimeError):
    """An embedded service could not be configured, started, checked or stopped."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigError(EmbeddedError, ValueError):
    """A configuration variable (a port, a URL, a user name) is malformed."""


class PortInUseError(EmbeddedError):
    """The port an embedded server should listen on is taken by another program."""
