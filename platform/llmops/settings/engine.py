"""The workflow engine inside the platform: what its http_request nodes may reach.

``LLMOPS_WORKFLOW_HTTP_ALLOWLIST`` (host names and CIDRs) lists private addresses workflow HTTP nodes may
call anyway; empty by default, in development too: a workflow must not reach the platform's own
PostgreSQL, Redis or cloud metadata.
"""

from __future__ import annotations

from llmops.settings.env import env_list

LLMOPS_WORKFLOW_HTTP_ALLOWLIST = env_list("LLMOPS_WORKFLOW_HTTP_ALLOWLIST", [])
