"""Resource references (``slug``, ``slug@label``, ``slug:3``): one grammar for every resource type.

The tables are the grammar's contract; the resolver tests check that a label ``label_set`` lets you create is
exactly a label each resource type's resolver can reach, and the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from llmops.accounts.models import User, Workspace
from llmops.chains.content import chain_content_normalize
from llmops.chains.models import Chain
from llmops.chains.selectors import chain_snapshot_by_ref
from llmops.core import versioning
from llmops.core.errors import NotFound, ValidationError
from llmops.core.models import VersionedResource
from llmops.core.refs import (
    DRAFT,
    LATEST,
    REF_MAX_LENGTH,
    REF_PATTERN,
    ResourceRef,
    ref_parse,
    ref_problem,
    version_parse,
)
from llmops.prompts.selectors import prompt_snapshot_by_ref
from llmops.providers.selectors import endpoint_resolve
from tests.chains.conftest import chain_content, make_summarize_prompt
from tests.conftest import client_for
from tests.prompts.factories import PromptFactory, chat_content
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.testapp.models import Note, NoteLabel

LABEL_63 = "l" * 63
SLUG_100 = "s" * 100

ACCEPTED = [
    # (reference, parsed, canonical form)
    ("support", ResourceRef("support", LATEST), "support"),
    ("Support_Bot-2", ResourceRef("Support_Bot-2"), "Support_Bot-2"),
    (SLUG_100, ResourceRef(SLUG_100), SLUG_100),
    ("support:3", ResourceRef("support", 3), "support:3"),
    ("support:v3", ResourceRef("support", 3), "support:3"),
    ("support:03", ResourceRef("support", 3), "support:3"),
    ("support@production", ResourceRef("support", "production"), "support@production"),
    ("support@eu-west.2_canary", ResourceRef("support", "eu-west.2_canary"), "support@eu-west.2_canary"),
    ("support@1st", ResourceRef("support", "1st"), "support@1st"),
    (f"support@{LABEL_63}", ResourceRef("support", LABEL_63), f"support@{LABEL_63}"),
    # names no label may have keep the meaning they always had
    ("support@latest", ResourceRef("support", LATEST), "support"),
    ("support@3", ResourceRef("support", 3), "support:3"),
    ("support@v3", ResourceRef("support", 3), "support:3"),
    ("support@draft", ResourceRef("support", DRAFT), "support@draft"),
    # surrounding whitespace is ignored, as the resolvers always did
    ("  support@production\n", ResourceRef("support", "production"), "support@production"),
]

REFUSED = [
    "",
    "   ",
    "support:",
    "support@",
    "support:latest",
    "support:production",
    "support:x3",
    "support:v",
    "support:3.1",
    "support:-1",
    "support:\u0663",  # an Arabic-Indic digit three
    "Support@Production",
    "support@-canary",
    "support@.canary",
    "support@has space",
    f"support@{LABEL_63}x",
    f"{SLUG_100}x",
    "sup port",
    "support@prod@eu",
    "support:3:4",
    "support:3@production",
    "support@production:3",
    "@production",
    ":3",
    "openai/gpt-4o",  # a Dify import's model binding, to be pointed at an endpoint first
    "support@prod\nx",
    "support:" + "1" * REF_MAX_LENGTH,
]


@pytest.mark.parametrize(("text", "parsed", "canonical"), ACCEPTED)
def test_accepted_references_parse_to_their_canonical_form(
    text: str, parsed: ResourceRef, canonical: str
) -> None:
    assert ref_parse(text) == parsed
    assert str(parsed) == canonical
    assert ref_parse(canonical) == parsed  # round trip


@pytest.mark.parametrize("text", REFUSED)
def test_refused_references_are_validation_errors_naming_the_reference(text: str) -> None:
    with pytest.raises(ValidationError) as error:
        ref_parse(text, kind="prompt")
    assert error.value.message.startswith(f"Invalid prompt reference {text!r}: ")
    assert list(error.value.fields) == ["ref"]
    assert error.value.fields["ref"][0].endswith("Use slug, slug@label or slug:3.")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Support@Production", "'Production' is not a label name"),
        ("support:x", "after ':' comes a version number"),
        ("sup port@x", "the slug 'sup port'"),
        ("", "empty"),
    ],
)
def test_the_error_says_which_part_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        ref_parse(text)


class _Stored(BaseModel):
    ref: str = Field(pattern=REF_PATTERN, max_length=REF_MAX_LENGTH)


@pytest.mark.parametrize("text", [text.strip() for text, _, _ in ACCEPTED] + REFUSED)
def test_the_pydantic_pattern_accepts_exactly_what_the_parser_does(text: str) -> None:
    try:
        _Stored(ref=text)
        stored = True
    except PydanticValidationError:
        stored = False
    assert stored == (ref_problem(text) is None)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (3, 3),
        ("3", 3),
        ("v3", 3),
        ("latest", LATEST),
        ("draft", DRAFT),
        ("production", "production"),
        ("v", "v"),  # label names, not numbers
        ("3.1", "3.1"),
    ],
)
def test_version_parts_parse_as_in_references(value: str | int, parsed: int | str) -> None:
    assert version_parse(value) == parsed
    assert ref_parse(f"p@{value}").version == parsed


@pytest.mark.parametrize("value", ["", "Production", "v 3", "@production", "prod!", -1, True])
def test_malformed_version_parts_are_refused(value: Any) -> None:
    with pytest.raises(ValidationError) as error:
        version_parse(value, field="version")
    assert list(error.value.fields) == ["version"]


def test_a_reference_cannot_be_built_around_a_reserved_label_name() -> None:
    with pytest.raises(ValueError, match="version_parse"):
        ResourceRef("support", "v3")


# --- labels: the names label_set creates are the names references reach ---------------------------------

LABEL_NAMES = [
    "production",
    "eu-west.2_canary",
    "1st",
    LABEL_63,
    "latest",
    "draft",
    "v2",
    "2",
    "007",
    "Production",
    "has space",
    "-dash",
    "",
    LABEL_63 + "x",
    "prod\n",
]


@pytest.fixture
def note(workspace: Workspace, owner: User) -> Note:
    note = Note.objects.create(workspace=workspace, name="N", slug="note", draft={"text": "hi"})
    versioning.version_publish(resource=note, user=owner)
    return note


def _label_reference(name: str) -> str | None:
    try:
        return ref_parse(f"note@{name}").label
    except ValidationError:
        return None


@pytest.mark.parametrize("name", LABEL_NAMES)
def test_a_label_can_be_created_exactly_when_a_reference_reads_it_as_that_label(
    name: str, note: Note, owner: User
) -> None:
    try:
        versioning.label_set(resource=note, name=name, number=1, user=owner)
        created = True
    except ValidationError as error:
        assert list(error.fields) == ["name"]
        created = False
    assert created == (_label_reference(name) == name)


@pytest.mark.parametrize("name", ["latest", "draft", "v2", "2"])
def test_forms_such_as_the_admin_refuse_reserved_label_names(name: str, note: Note, owner: User) -> None:
    label = NoteLabel(resource=note, version=note.versions.get(), name=name, updated_by=owner)
    with pytest.raises(DjangoValidationError) as error:
        label.full_clean()
    assert error.value.message_dict == {"name": [f"{name!r} is reserved."]}


@pytest.mark.parametrize("ref", ["bogus ref", "Production", "", -1])
def test_version_resolve_shares_the_grammar_and_keeps_unknown_refs_not_found(ref: Any, note: Note) -> None:
    with pytest.raises(NotFound, match="has no version or label"):
        versioning.version_resolve(resource=note, ref=ref)


# --- every resource type's resolver reaches a label created with label_set ------------------------------

Resolve = Callable[[Workspace, str], int | None]  # the version number a reference resolves to
Built = tuple[VersionedResource, Resolve, dict[str, Any]]  # the resource, its resolver, a second draft


def _prompt(workspace: Workspace) -> Built:
    prompt = PromptFactory.create(workspace=workspace, slug="p", draft=chat_content())
    second = chat_content(parameters={"temperature": 1})
    return prompt, lambda ws, ref: prompt_snapshot_by_ref(workspace=ws, ref=ref).version, second


def _chain(workspace: Workspace) -> Built:
    make_summarize_prompt(workspace)
    draft = chain_content_normalize(chain_content(), workspace=workspace)
    chain = Chain.objects.create(workspace=workspace, name="C", slug="p", draft=draft)
    second = chain_content_normalize(chain_content(parameters={"temperature": 1}), workspace=workspace)
    return chain, lambda ws, ref: chain_snapshot_by_ref(workspace=ws, ref=ref).version, second


def _endpoint(workspace: Workspace) -> Built:
    endpoint = ModelEndpointFactory.create(workspace=workspace, slug="p", draft=endpoint_config())
    second = endpoint_config(max_retries=1)
    return endpoint, lambda ws, ref: endpoint_resolve(workspace_id=ws.pk, ref=ref).version, second


RESOURCES = {"prompt": _prompt, "chain": _chain, "model endpoint": _endpoint}


@pytest.fixture(params=list(RESOURCES))
def two_versions(request: Any, workspace: Workspace, owner: User) -> tuple[VersionedResource, Resolve]:
    """A resource ``p`` of each type with versions 1 and 2 published."""
    resource, resolve, second = RESOURCES[request.param](workspace)
    versioning.version_publish(resource=resource, user=owner)
    versioning.resource_update(resource=resource, draft=second)
    versioning.version_publish(resource=resource, user=owner)
    return resource, resolve


@pytest.mark.parametrize("name", ["production", "eu-west.2_canary", "1st", LABEL_63])
def test_a_label_created_with_label_set_is_reachable_through_each_resolver(
    name: str, two_versions: tuple[VersionedResource, Resolve], workspace: Workspace, owner: User
) -> None:
    resource, resolve = two_versions
    versioning.label_set(resource=resource, name=name, number=1, user=owner)
    assert resolve(workspace, f"p@{name}") == 1


@pytest.mark.parametrize(
    ("ref", "number"),
    [("p", 2), ("p@latest", 2), ("p:1", 1), ("p:v1", 1), ("p@v1", 1), (" p:2 ", 2), ("p@draft", None)],
)
def test_every_resolver_reads_references_alike(
    ref: str, number: int | None, two_versions: tuple[VersionedResource, Resolve], workspace: Workspace
) -> None:
    _, resolve = two_versions
    assert resolve(workspace, ref) == number


@pytest.mark.parametrize("ref", ["p@staging", "p:3", "p:99999999999", "nope"])
def test_every_resolver_reports_unknown_references_as_not_found(
    ref: str, two_versions: tuple[VersionedResource, Resolve], workspace: Workspace
) -> None:
    _, resolve = two_versions
    with pytest.raises(NotFound):
        resolve(workspace, ref)


@pytest.mark.parametrize("ref", ["p@Production", "p:x", "p q"])
def test_every_resolver_refuses_malformed_references_with_a_ref_field(
    ref: str, two_versions: tuple[VersionedResource, Resolve], workspace: Workspace
) -> None:
    _, resolve = two_versions
    with pytest.raises(ValidationError) as error:
        resolve(workspace, ref)
    assert list(error.value.fields) == ["ref"]


def test_the_connection_test_refuses_a_malformed_version_naming_the_field(
    workspace: Workspace, owner: User
) -> None:
    ModelEndpointFactory.create(workspace=workspace, slug="e")
    url = "/api/workspaces/acme/model-endpoints/e/test/"
    response = client_for(owner).post(url, {"version": "Not A Label"}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["version"]
