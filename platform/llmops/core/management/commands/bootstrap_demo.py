"""``manage.py bootstrap_demo``: the admin user, the demo workspace, its local models and a sample workflow.

Everything is created once; running it again changes nothing. The admin password is printed only when the
user is created (or taken from ``LLMOPS_ADMIN_PASSWORD``).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from llmops.accounts.models import Membership, Role, User, Workspace
from llmops.accounts.services import user_create, workspace_create
from llmops.core import versioning
from llmops.providers.models import ModelEndpoint
from llmops.providers.services import model_endpoint_create
from llmops.settings.env import env_int, env_str
from llmops.studio.models import Workflow

SAMPLE_WORKFLOW: dict[str, Any] = {
    "name": "Hello, model",
    "description": "Asks the local instruction model (Qwen2.5-Coder-1.5B-Instruct) for one sentence about a topic.",
    "inputs": [{"name": "topic", "type": "text", "required": True}],
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "write",
            "type": "llm",
            "config": {
                "model": "local-qwen",
                "messages": [
                    {
                        "role": "system",
                        "content": "You are a helpful assistant. Answer in the user's language.",
                    },
                    {"role": "user", "content": "Write one sentence about {{ start.topic }}."},
                ],
                "parameters": {"temperature": 0, "max_tokens": 60},
            },
        },
        {"id": "end", "type": "end", "config": {"outputs": {"text": "write.text"}}},
    ],
    "edges": [{"source": "start", "target": "write"}, {"source": "write", "target": "end"}],
}


def _local_model_url(port_variable: str, default_port: int) -> str:
    """Where ``make run`` serves a local model (``devservices.localmodels`` reads the same variable)."""
    return f"http://127.0.0.1:{env_int(port_variable, default_port, minimum=1024, maximum=65535)}/v1"


def _local_endpoints() -> list[dict[str, Any]]:
    return [
        {
            "name": "Local Qwen2.5-Coder-1.5B-Instruct (llama.cpp, 中文/English)",
            "slug": "local-qwen",
            "draft": {
                "provider_kind": "llamacpp", "model": "qwen2.5-coder-1.5b-instruct", "model_type": "chat",
                "base_url": _local_model_url("LLMOPS_CHAT_MODEL_PORT", 8091), "context_window": 4096, "max_output_tokens": 512,
                "prices": {"input": 0.0, "output": 0.0, "currency": "USD"},
            },
        },
        {
            "name": "Local multilingual embeddings (USE v3, 中文/English)",
            "slug": "local-multilingual",
            "draft": {
                "provider_kind": "openai_compatible", "model": "use-multilingual-v3", "model_type": "embedding",
                "base_url": _local_model_url("LLMOPS_EMBEDDING_MODEL_PORT", 8092), "context_window": 512,
                "prices": {"input": 0.0, "output": 0.0, "currency": "USD"},
            },
        },
        {
            # Served by the embeddings server, which asks local-qwen's server per passage (about a second or
            # more each on 2 cores): slow, so no retry on a timeout; rerank a short list.
            "name": "Local reranker (Qwen2.5-Coder-1.5B-Instruct scoring P(是/yes), 中文/English)",
            "slug": "local-rerank",
            "draft": {
                "provider_kind": "openai_compatible", "model": "qwen-rerank", "model_type": "rerank",
                "base_url": _local_model_url("LLMOPS_EMBEDDING_MODEL_PORT", 8092), "timeout_seconds": 300,
                "max_retries": 0, "prices": {"input": 0.0, "output": 0.0, "currency": "USD"},
            },
        },
        {
            "name": "Local all-MiniLM-L6-v2 (embeddings, English)",
            "slug": "local-minilm",
            "draft": {
                "provider_kind": "openai_compatible", "model": "all-minilm-l6-v2", "model_type": "embedding",
                "base_url": _local_model_url("LLMOPS_EMBEDDING_MODEL_PORT", 8092), "context_window": 512,
                "prices": {"input": 0.0, "output": 0.0, "currency": "USD"},
            },
        },
    ]  # fmt: skip


class Command(BaseCommand):
    help = "Create the admin user, the demo workspace, its local model endpoints and a sample workflow."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            admin, password = self._admin()
            workspace = self._demo_workspace(admin)
            self._local_models(workspace, admin)
            self._sample_workflow(workspace, admin)
        if password:
            self.stdout.write(self.style.SUCCESS(f"admin user created: username=admin password={password}"))
            self.stdout.write(
                "  (shown once; change it with: .venv/bin/python manage.py changepassword admin)"
            )
        else:
            self.stdout.write("admin user exists (its password was printed when it was created)")

    def _admin(self) -> tuple[User, str | None]:
        existing = User.objects.filter(username="admin").first()
        if existing is not None:
            return existing, None
        password = env_str("LLMOPS_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        return user_create(
            username="admin", password=password, email="admin@example.com", is_staff=True
        ), password

    def _demo_workspace(self, admin: User) -> Workspace:
        workspace = Workspace.objects.filter(slug="demo").first()
        if workspace is None:
            workspace = workspace_create(name="Demo workspace", slug="demo", owner=admin)
            self.stdout.write("demo workspace created: /api/workspaces/demo/")
        Membership.objects.get_or_create(workspace=workspace, user=admin, defaults={"role": Role.OWNER})
        return workspace

    def _local_models(self, workspace: Workspace, admin: User) -> None:
        for spec in _local_endpoints():
            if ModelEndpoint.objects.filter(workspace=workspace, slug=spec["slug"]).exists():
                continue
            endpoint = model_endpoint_create(workspace=workspace, user=admin, **spec)
            versioning.version_publish(resource=endpoint, user=admin, message="registered by make run")
            self.stdout.write(f"model endpoint registered: {spec['slug']} -> {spec['draft']['base_url']}")

    def _sample_workflow(self, workspace: Workspace, admin: User) -> None:
        if Workflow.objects.filter(workspace=workspace, slug="hello").exists():
            return
        workflow = versioning.resource_create(
            model=Workflow, workspace=workspace, user=admin, name="Hello, model", slug="hello",
            description=SAMPLE_WORKFLOW["description"], draft=SAMPLE_WORKFLOW,
        )  # fmt: skip
        versioning.version_publish(resource=workflow, user=admin, message="sample")
        versioning.label_set(resource=workflow, name="production", number=1, user=admin)
        self.stdout.write(
            "sample workflow published: /api/workspaces/demo/workflows/hello/ (label production)"
        )
