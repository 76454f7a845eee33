"""Parse a document in a child process with capped memory and time, so a bomb fails its document, not the
ingest worker.

The parsers' own caps (``parsing``) refuse the bombs we know of with a precise reason; this is the backstop
for those we do not. The child is a fresh interpreter (a prefork worker's process cannot fork a
``multiprocessing`` child, and a fork would share its database connection): it reads the document from stdin,
caps its address space (``RLIMIT_AS``) at its size after start-up plus ``LLMOPS_KNOWLEDGE_PARSE_MEMORY_MB``,
and writes ``T`` + the text or ``E`` + the reason to stdout. The parent kills it after
``LLMOPS_KNOWLEDGE_PARSE_SECONDS``.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from llmops.knowledge.parsing import ParseError, extension_of, parse_document

logger = logging.getLogger(__name__)
_MODULE = "llmops.knowledge.parse_isolated"
_PLATFORM = Path(__file__).resolve().parents[2]  # the folder holding the ``llmops`` package
_OUT_OF_MEMORY = 3


# Plain text is decoded in one linear pass bounded by the upload limit: no expansion to guard against, and a
# child's start-up (about a second) would dominate ingesting it (pasted texts, notes, Markdown).
_PLAIN_TEXT = frozenset({"txt", "text", "md", "markdown"})


def parse_document_isolated(content: bytes, name: str, mime_type: str = "") -> str:
    """``parse_document`` in a memory- and time-capped child (in this process for plain text); raises
    ``ParseError`` with the reason."""
    if extension_of(name) in _PLAIN_TEXT:
        return parse_document(content, name, mime_type)
    memory_mb, seconds = settings.LLMOPS_KNOWLEDGE_PARSE_MEMORY_MB, settings.LLMOPS_KNOWLEDGE_PARSE_SECONDS
    command = [sys.executable, "-m", _MODULE, name, mime_type, str(memory_mb * 1024 * 1024)]
    try:
        done = subprocess.run(command, input=content, capture_output=True, timeout=seconds, env=_child_env())
    except subprocess.TimeoutExpired:  # run() has killed the child
        raise ParseError(
            f"Parsing took longer than {seconds} s; the document is too large or malformed."
        ) from None
    if done.returncode == 0 and done.stdout[:1] in (b"T", b"E"):
        body = done.stdout[1:].decode("utf-8", "surrogatepass")
        if done.stdout[:1] == b"E":
            raise ParseError(body)
        return body
    if done.returncode == _OUT_OF_MEMORY:
        raise ParseError(
            f"Parsing needs more than {memory_mb} MiB of memory; the document is too large or a "
            "decompression bomb."
        )
    logger.warning("document parser exited with %s: %s", done.returncode, done.stderr[-2000:])
    if done.returncode < 0:
        cause = signal.Signals(-done.returncode).name
        raise ParseError(f"The parser was stopped ({cause}); the document is too large or malformed.")
    raise ParseError(f"The parser failed (exit status {done.returncode}); the document cannot be read.")


# All the parser child inherits: it parses untrusted bytes, so the worker's secrets (database and Redis URLs,
# SECRET_KEY, provider keys in the environment) are not handed to it.
_INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")


def _child_env() -> dict[str, str]:
    """The parser child's environment: the import path and the locale, nothing else."""
    paths = [str(_PLATFORM), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    inherited = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    return {**inherited, "PYTHONPATH": os.pathsep.join(paths), "PYTHONNOUSERSITE": "1"}


def _cap_memory(extra_bytes: int) -> None:
    """Cap the address space at its present size plus ``extra_bytes`` (Linux; elsewhere at ``extra_bytes``)."""
    try:
        with open("/proc/self/statm") as statm:
            present = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        present = 0
    limit = present + extra_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _child_main(name: str, mime_type: str, extra_bytes: int) -> None:
    content = sys.stdin.buffer.read()
    _cap_memory(extra_bytes)
    try:
        try:
            out = b"T" + parse_document(content, name, mime_type).encode("utf-8", "surrogatepass")
        except ParseError as exc:
            out = b"E" + str(exc).encode("utf-8", "surrogatepass")
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
    except MemoryError:
        os._exit(_OUT_OF_MEMORY)  # nothing may be allocated now, not even a message


if __name__ == "__main__":
    _child_main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
