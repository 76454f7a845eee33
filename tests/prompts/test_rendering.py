"""Rendering prompts: chat and text, defaults, typed variables, placeholders, the sandbox, the cache."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import override_settings

from llmops.accounts.models import User, Workspace
from llmops.core.errors import NotFound, ValidationError
from llmops.prompts.content import prompt_content_normalize
from llmops.prompts.rendering import cache_size, compiled_prompt, render_compiled
from llmops.prompts.resolver import PlatformPromptResolver
from llmops.prompts.templating import TemplateRenderError, compile_template, render_template
from tests.conftest import client_for
from tests.prompts.factories import PromptFactory, chat_content, published_prompt, text_content
from workflows import CallContext

URL = "/api/workspaces/acme/prompts/"


@pytest.mark.django_db
def test_chat_prompt_renders_messages_with_defaults(workspace: Workspace, owner: User) -> None:
    PromptFactory.create(workspace=workspace, slug="p")
    response = client_for(owner).post(f"{URL}p/render/", {"variables": {"topic": "owls"}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "version": "draft",
        "type": "chat",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Tell me about owls."},
        ],
        "text": "You are a helpful assistant.\n\nTell me about owls.",
        "model": None,
        "parameters": {"temperature": 0.0, "max_tokens": 16},
    }


@pytest.mark.django_db
def test_text_prompt_renders_one_user_message(workspace: Workspace, owner: User) -> None:
    PromptFactory.create(workspace=workspace, slug="t", draft=text_content())
    response = client_for(owner).post(f"{URL}t/render/", {"variables": {"count": 2}}, format="json")
    assert response.json()["messages"] == [{"role": "user", "content": "Pick 2 of: a, b"}]
    assert response.json()["text"] == "Pick 2 of: a, b"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("variables", "fields"),
    [
        ({}, {"variables.topic": ["This variable is required."]}),
        ({"topic": 3}, {"variables.topic": ["Expected a string, got int."]}),
        ({"topic": "x", "tone": ["kind"]}, {"variables.tone": ["Expected a string, got list."]}),
    ],
)
def test_missing_or_mistyped_variable_is_a_400_naming_it(
    workspace: Workspace, owner: User, variables: dict[str, Any], fields: dict[str, list[str]]
) -> None:
    PromptFactory.create(workspace=workspace, slug="p")
    response = client_for(owner).post(f"{URL}p/render/", {"variables": variables}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields


@pytest.mark.django_db
def test_render_picks_versions_by_number_label_and_latest(workspace: Workspace, owner: User) -> None:
    prompt = published_prompt(workspace=workspace, slug="p")
    prompt.draft = chat_content(messages=[{"role": "user", "content": "Draft about {{ topic }}"}])
    prompt.save()
    client = client_for(owner)
    body = {"variables": {"topic": "owls"}}
    texts = {
        version: client.post(f"{URL}p/render/", {**body, "version": version}, format="json").json()["text"]
        for version in (1, "v1", "latest", "draft")
    }
    assert texts[1] == texts["v1"] == texts["latest"] == "You are a helpful assistant.\n\nTell me about owls."
    assert texts["draft"] == "Draft about owls"
    missing = client.post(f"{URL}p/render/", {**body, "version": "staging"}, format="json")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ topic.__class__ }}",
        "{{ topic['__class__'] }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_sandbox_escapes_are_refused_on_save(template: str) -> None:
    with pytest.raises(ValidationError) as refused:
        prompt_content_normalize({"type": "text", "template": template, "variables": [{"name": "topic"}]})
    assert "private attribute" in refused.value.fields["draft.template"][0]


@pytest.mark.parametrize(
    "template",
    ["{{ ''.__class__.__mro__ }}", "{{ x | attr('__class__') }}", "{{ x.mro() }}", "{{ [].append(1) }}"],
)
def test_sandbox_refuses_escapes_at_render_time_too(template: str) -> None:
    with pytest.raises(TemplateRenderError):
        render_template(compile_template(template), {"x": "s"})


@pytest.mark.parametrize(
    "template",
    [
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        "{{ 'x' * 10**9 }}",
        "{{ x|center(10**9) }}",
    ],
    ids=["nested-ranges", "repeat", "center"],
)
def test_prompt_templates_are_bounded_like_workflow_templates(template: str) -> None:
    started = time.monotonic()
    with (
        override_settings(LLMOPS_TEMPLATE_MAX_ITERATIONS=10_000, LLMOPS_TEMPLATE_MAX_SECONDS=2),
        pytest.raises(TemplateRenderError, match="went past its limits"),
    ):
        render_template(compile_template(template), {"x": "s"})
    assert time.monotonic() - started < 3


def test_placeholder_splices_a_message_list_and_examples_are_available() -> None:
    content = prompt_content_normalize(
        {
            "messages": [
                {
                    "role": "system",
                    "content": "{% for e in examples %}{{ e.input.q }}={{ e.output }};{% endfor %}",
                },
                {"role": "placeholder", "content": "history"},
                {"role": "user", "content": "{{ q }}"},
            ],
            "variables": [{"name": "q"}],
            "examples": [{"input": {"q": "1+1"}, "output": "2"}],
        }
    )
    rendered = render_compiled(
        compiled_prompt(content), {"q": "2+2", "history": [{"role": "assistant", "content": "hi"}]}
    )
    assert [(m.role, m.content) for m in rendered.messages] == [
        ("system", "1+1=2;"),
        ("assistant", "hi"),
        ("user", "2+2"),
    ]
    with pytest.raises(ValidationError) as bad:
        render_compiled(compiled_prompt(content), {"q": "x", "history": "not a list"})
    assert list(bad.value.fields) == ["variables.history"]


def test_templates_are_compiled_once_per_content_hash() -> None:
    content = text_content(template="Cached {{ count }}")
    first = compiled_prompt(content)
    size = cache_size()
    again = compiled_prompt(dict(content))
    assert again is first and cache_size() == size


@pytest.mark.django_db(transaction=True)
async def test_engine_resolver_renders_pinned_versions(workspace: Workspace) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(published_prompt)(workspace=workspace, slug="p", draft=chat_content(model="local"))
    resolver = PlatformPromptResolver(workspace)
    context = CallContext(run_id="r", node_id="n")
    rendered = await resolver.render("p:1", {"topic": "owls"}, context)
    assert rendered.version == "1" and rendered.model == "local"
    assert rendered.messages[-1].content == "Tell me about owls."
    with pytest.raises(NotFound):
        await resolver.render("p@production", {"topic": "owls"}, context)
    with pytest.raises(ValidationError) as missing:
        await resolver.render("p", {}, context)
    assert list(missing.value.fields) == ["variables.topic"]


@pytest.mark.django_db(transaction=True)
async def test_a_label_moved_mid_run_does_not_change_the_version_that_run_renders(
    workspace: Workspace,
) -> None:
    from asgiref.sync import sync_to_async

    from llmops.core import versioning

    def publish_two_versions_labelled_v1() -> Any:
        prompt = published_prompt(workspace=workspace, slug="p", draft=chat_content())
        prompt.draft = chat_content(messages=[{"role": "user", "content": "Explain {{ topic }}."}])
        prompt.save()
        versioning.version_publish(resource=prompt, user=None)
        versioning.label_set(resource=prompt, name="production", number=1, user=None)
        return prompt

    prompt = await sync_to_async(publish_two_versions_labelled_v1)()
    resolver = PlatformPromptResolver(workspace)
    run, other_run = CallContext(run_id="run-1", node_id="a"), CallContext(run_id="run-2", node_id="a")
    first = await resolver.render("p@production", {"topic": "owls"}, run)
    await sync_to_async(versioning.label_set)(resource=prompt, name="production", number=2, user=None)
    later_node = await resolver.render(
        "p@production", {"topic": "bats"}, CallContext(run_id="run-1", node_id="b")
    )
    assert (first.version, later_node.version) == ("1", "1")
    assert later_node.messages[-1].content == "Tell me about bats."
    # another run resolves the label afresh
    assert (await resolver.render("p@production", {"topic": "owls"}, other_run)).version == "2"
