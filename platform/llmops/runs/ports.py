"""The engine's ports for one run, built from the platform's adapters."""

from __future__ import annotations

from django.conf import settings

from llmops.chains.conversation_scope import ConversationScope
from llmops.chains.runner import PlatformChainRunner
from llmops.core.outbound import workflow_http_client
from llmops.knowledge.engine_retriever import PlatformRetriever
from llmops.knowledge.recording import knowledge_versions_record
from llmops.prompts.resolver import PlatformPromptResolver
from llmops.providers.gateway import PlatformModelGateway
from llmops.runs.models import Run
from workflows import DefaultToolRegistry, Ports, SubprocessSandbox

# The usage ledger's source of a run's model calls, by trigger (debug runs stay out of production totals).
_SOURCES = {"api": "api", "debug": "debug"}


def build_ports(run: Run) -> Ports:
    """Adapters for one run: metered models, prompts and chains of its workspace, sandboxed code,
    SSRF-guarded HTTP and the built-in tools."""
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
    return Ports(
        models=gateway,
        prompts=PlatformPromptResolver(run.workspace),
        chains=PlatformChainRunner(
            run.workspace, gateway=gateway, retriever=retriever, scope=_conversation_scope(run)
        ),
        sandbox=build_sandbox(),
        http=workflow_http_client(),
        tools=DefaultToolRegistry(),
        retriever=retriever,
    )


def _conversation_scope(run: Run) -> ConversationScope | None:
    """A published endpoint's run keys chain memory by the caller's scoped conversation ids."""
    if run.deployment_id is None:
        return None
    return ConversationScope(run.deployment_id, run.api_key_id, run.end_user)


def build_sandbox() -> SubprocessSandbox:
    """The code sandbox for one run, from the ``LLMOPS_SANDBOX_*`` settings (its memory budget is per run)."""
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
    )
