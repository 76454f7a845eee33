"""The one error type of :mod:`devservices.localmodels`.

Every message is one line that names the cause and the fix, so the CLI can print it as it is.
"""

from __future__ import annotations


class LocalModelsError(RuntimeError):
    """A local model could not be built, installed, found, started or reached."""

    def __init__(self, message: str) -> None:
        # Collapse whitespace: messages are assembled from several f-strings and must print as one line.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        """The one-line message."""
        return str(self.args[0])
