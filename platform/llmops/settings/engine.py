"""The workflow engine inside the platform: what its http_request nodes may reach, how large a workflow
document may be, and how much work one template render may do.

``LLMOPS_WORKFLOW_HTTP_ALLOWLIST`` (host names and CIDRs) lists private addresses workflow HTTP nodes may
call anyway; empty by default, in development too: a workflow must not reach the platform's own
PostgreSQL, Redis or cloud metadata.

``LLMOPS_WORKFLOW_MAX_NODES`` / ``LLMOPS_WORKFLOW_MAX_EDGES`` cap a workflow's graph and
``LLMOPS_WORKFLOW_MAX_DOCUMENT_BYTES`` an imported YAML/JSON document (drafts, imports, Dify imports).

``LLMOPS_TEMPLATE_MAX_OUTPUT_CHARS``, ``LLMOPS_TEMPLATE_MAX_ITERATIONS`` and ``LLMOPS_TEMPLATE_MAX_SECONDS``
bound one Jinja render (template nodes, every templated node setting, prompts): the characters it produces
or builds, the loop iterations and calls it makes, and its CPU time.

Code nodes' sandbox: ``LLMOPS_SANDBOX_UID`` / ``LLMOPS_SANDBOX_GID`` are the ids a root worker drops the
child to (an account that owns nothing: not ``nobody``, which the embedded services use);
``LLMOPS_SANDBOX_MAX_MEMORY_MB`` caps one call whatever a node asks, ``LLMOPS_SANDBOX_RUN_MEMORY_MB`` the
calls of one run running at once; ``LLMOPS_SANDBOX_TMP_MB`` / ``LLMOPS_SANDBOX_TMP_FILES`` what one call may
keep in its temp dir; ``LLMOPS_SANDBOX_NAMESPACES`` is ``auto`` (private network/mount namespaces where the
kernel allows them, a log line otherwise), ``required`` (code nodes fail without them) or ``off``.
``LLMOPS_SANDBOX_PACKAGES`` lists the packages code may import (default: every name in
``runs/sandbox-requirements.txt``, at the versions pinned there; ``name==version`` pins another), installed
by ``manage.py sandbox_packages`` into ``LLMOPS_SANDBOX_PACKAGES_DIR`` (a start-up check fails when it does
not hold them).
"""

from __future__ import annotations

from pathlib import Path

from llmops.settings.base import STATE_DIR
from llmops.settings.env import env_choice, env_int, env_list, env_str

_SANDBOX_REQUIREMENTS = Path(__file__).resolve().parents[1] / "runs" / "sandbox-requirements.txt"


def _requirement_names(path: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line.split("=")[0].split("<")[0].split(">")[0].strip() for line in lines if line]


LLMOPS_WORKFLOW_HTTP_ALLOWLIST = env_list("LLMOPS_WORKFLOW_HTTP_ALLOWLIST", [])
LLMOPS_WORKFLOW_MAX_NODES = env_int("LLMOPS_WORKFLOW_MAX_NODES", 500, minimum=2)
LLMOPS_WORKFLOW_MAX_EDGES = env_int("LLMOPS_WORKFLOW_MAX_EDGES", 2000, minimum=1)
LLMOPS_WORKFLOW_MAX_DOCUMENT_BYTES = env_int(
    "LLMOPS_WORKFLOW_MAX_DOCUMENT_BYTES", 2 * 1024 * 1024, minimum=1024
)
LLMOPS_TEMPLATE_MAX_OUTPUT_CHARS = env_int("LLMOPS_TEMPLATE_MAX_OUTPUT_CHARS", 5_000_000, minimum=1000)
LLMOPS_TEMPLATE_MAX_ITERATIONS = env_int("LLMOPS_TEMPLATE_MAX_ITERATIONS", 1_000_000, minimum=1000)
LLMOPS_TEMPLATE_MAX_SECONDS = env_int("LLMOPS_TEMPLATE_MAX_SECONDS", 5, minimum=1)
LLMOPS_SANDBOX_UID = env_int("LLMOPS_SANDBOX_UID", 61000, minimum=1, maximum=2**32 - 2)
LLMOPS_SANDBOX_GID = env_int("LLMOPS_SANDBOX_GID", LLMOPS_SANDBOX_UID, minimum=1, maximum=2**32 - 2)
LLMOPS_SANDBOX_MAX_MEMORY_MB = env_int("LLMOPS_SANDBOX_MAX_MEMORY_MB", 1024, minimum=64)
LLMOPS_SANDBOX_RUN_MEMORY_MB = env_int("LLMOPS_SANDBOX_RUN_MEMORY_MB", 2048, minimum=64)
LLMOPS_SANDBOX_TMP_MB = env_int("LLMOPS_SANDBOX_TMP_MB", 64, minimum=1)
LLMOPS_SANDBOX_TMP_FILES = env_int("LLMOPS_SANDBOX_TMP_FILES", 256, minimum=8)
LLMOPS_SANDBOX_NAMESPACES = env_choice("LLMOPS_SANDBOX_NAMESPACES", "auto", ("auto", "required", "off"))
LLMOPS_SANDBOX_PACKAGES = env_list("LLMOPS_SANDBOX_PACKAGES", _requirement_names(_SANDBOX_REQUIREMENTS))
LLMOPS_SANDBOX_PACKAGES_DIR = env_str("LLMOPS_SANDBOX_PACKAGES_DIR") or str(STATE_DIR / "sandbox-packages")
