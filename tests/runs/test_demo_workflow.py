"""The demo ``make run`` sets up answers with a real sentence: the sample workflow on the local instruction
model, executed by a real worker."""

from __future__ import annotations

import io
import subprocess
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from llmops.accounts.models import User
from llmops.runs.models import RunStatus
from llmops.runs.services import run_start
from llmops.studio.models import Workflow
from tests.runs.test_runs import wait_final

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_the_demo_workflow_writes_a_sentence_about_its_topic(
    celery_worker_process: subprocess.Popen[bytes],
    local_instruct_model_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: the demo, with its chat endpoint on this session's instruction-model server
    monkeypatch.setenv("LLMOPS_CHAT_MODEL_PORT", str(urlsplit(local_instruct_model_url).port))
    call_command("bootstrap_demo", stdout=io.StringIO())
    workflow = Workflow.objects.get(workspace__slug="demo", slug="hello")
    # when
    run = run_start(
        workflow=workflow, ref="production", inputs={"topic": "cats"}, user=User.objects.get(username="admin")
    )
    run = wait_final(run.id, timeout=90)
    # then: one English sentence about cats, no template tokens
    assert run.status == RunStatus.SUCCEEDED, run.error
    text = run.outputs["text"].strip()
    assert "cat" in text.lower() and text[-1] in ".!" and len(text.split()) >= 5, text
    assert "<|" not in text
