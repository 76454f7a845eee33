"""The engine's ports for one run, built from the platform's adapters."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from llmops.chains.conversation_scope import ConversationScope
from llmops.chains.runner import PlatformChainRunner
from llmops.core.outbound import workflow_http_client
from llmops.knowledge.engine_retriever import PlatformRetriever
from llmops.knowledge.recording import knowledge_versions_record
from llmops.prompts.resolver import PlatformPromptResolver
from llmops.providers.gateway import PlatformModelGateway
from llmops.runs.models import Run
from llmops.tools.registry import builtin_tool_registry, workspace_tool_registry
from workflows import Ports, SubprocessSandbox

# The usage ledger's source of a run's model calls, by trigger (debug runs stay out of production totals).
_SOURCES = {"api": "api", "debug": "debug"}
# The node types that call the tool registry.
_TOOL_NODE_TYPES = frozenset({"tool", "agent"})


async def build_ports_async(run: Run) -> Ports:
    """:func:`build_ports` from async code: the workspace's tool providers are read (in a thread) only for a
    workflow with a tool or agent node, so other runs pay no query and no thread hop for them."""
    if uses_tools(run.workflow_version.content):
        return await sync_to_async(build_ports)(run)
    return build_ports(run)


def uses_tools(content: Any) -> bool:
    """Whether a workflow document has a node of a tool-calling type anywhere (iteration and loop bodies too)."""
    if isinstance(content, dict):
        if content.get("type") in _TOOL_NODE_TYPES:
            return True
        return any(uses_tools(value) for value in content.values() if isinstance(value, dict | list))
    if isinstance(content, list):
        return any(uses_tools(value) for value in content if isinstance(value, dict | list))
    return False


def build_ports(run: Run) -> Ports:
    """Adapters for one run: metered models, prompts and chains of its workspace, sandboxed code,
    SSRF-guarded HTTP and the workspace's tools (built-ins and enabled providers, metered).

    For a workflow with tool or agent nodes it reads the workspace's tool providers: from async code call
    :func:`build_ports_async`."""
    gateway = PlatformModelGateway(
        workspace=run.workspace_id,
        source=_SOURCES.get(run.trigger, "run"),
        run_id=str(run.id),
        deployment_id=str(run.deployment_id) if run.deployment_id else None,
        api_key_id=str(run.api_key_id) if run.api_key_id else None,
        end_user=run.end_user,
    )
    retriever = PlatformRetriever(
        workspace_id=run.workspace_id,
        gateway=gateway,
        on_resolved=lambda resolved: knowledge_versions_record(Run, run.pk, resolved),
    )
    http = workflow_http_client()
    return Ports(
        models=gateway,
        prompts=PlatformPromptResolver(run.workspace),
        chains=PlatformChainRunner(
            run.workspace, gateway=gateway, retriever=retriever, scope=_conversation_scope(run)
        ),
        sandbox=build_sandbox(),
        http=http,
        tools=(
            workspace_tool_registry(workspace_id=run.workspace_id, http=http)
            if uses_tools(run.workflow_version.content)
            else builtin_tool_registry(workspace_id=run.workspace_id, http=http)
        ),
        retriever=retriever,
    )


def _conversation_scope(run: Run) -> ConversationScope | None:
    """A published endpoint's run keys chain memory by the caller's scoped conversation ids."""
    if run.deployment_id is None:
        return None
    return ConversationScope(run.deployment_id, run.api_key_id, run.end_user)


def build_sandbox() -> SubprocessSandbox:
    """The code sandbox for one run, from the ``LLMOPS_SANDBOX_*`` settings (its memory budget is per run);
    ``requests``/``httpx`` in code go through the workflow HTTP client (its SSRF guard and allow-list)."""
    mib = 1024 * 1024
    return SubprocessSandbox(
        uid=settings.LLMOPS_SANDBOX_UID,
        gid=settings.LLMOPS_SANDBOX_GID,
        max_memory_bytes=settings.LLMOPS_SANDBOX_MAX_MEMORY_MB * mib,
        run_memory_bytes=max(settings.LLMOPS_SANDBOX_RUN_MEMORY_MB, settings.LLMOPS_SANDBOX_MAX_MEMORY_MB)
        * mib,
        tmp_bytes=settings.LLMOPS_SANDBOX_TMP_MB * mib,
        tmp_files=settings.LLMOPS_SANDBOX_TMP_FILES,
        namespaces=settings.LLMOPS_SANDBOX_NAMESPACES,
        packages_dir=settings.LLMOPS_SANDBOX_PACKAGES_DIR if settings.LLMOPS_SANDBOX_PACKAGES else None,
        packages_hint="an operator can offer it to code nodes with the setting LLMOPS_SANDBOX_PACKAGES",
        http=workflow_http_client(),
    )
