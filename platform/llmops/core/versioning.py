"""Writes on any versioned resource: publish, label, resolve a reference, restore into the draft.

These work on every trio built from ``llmops.core.models`` (resource, version, label); resource-specific
services validate their content first and then call these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jsonpatch
from django.db import IntegrityError, transaction

from llmops.core.errors import Conflict, NotFound, PreconditionFailed, ValidationError
from llmops.core.models import ResourceLabel, ResourceVersion, VersionedResource, content_hash
from llmops.core.refs import LATEST, label_name_problem, version_parse

T = TypeVar("T")
R = TypeVar("R", bound=VersionedResource)


@transaction.atomic
def version_publish(*, resource: VersionedResource, user: Any, message: str = "") -> ResourceVersion:
    """Freeze the draft as the next numbered version.

    The resource row is locked so two concurrent publishes get consecutive numbers; a draft identical to
    the latest version is refused rather than creating a duplicate.
    """
    manager = type(resource)._default_manager
    locked = manager.select_for_update().get(pk=resource.pk)
    digest = content_hash(locked.draft)
    latest = locked.versions.order_by("-number").first()
    if latest is not None and latest.content_hash == digest:
        raise Conflict(f"The draft is identical to v{latest.number}; there is nothing new to publish.")
    number = locked.latest_version_number + 1
    version: ResourceVersion = locked.versions.create(
        number=number, content=locked.draft, content_hash=digest, message=message[:500], author=user
    )
    manager.filter(pk=resource.pk).update(latest_version_number=number)
    resource.latest_version_number = number
    return version


def version_get(*, resource: VersionedResource, number: int) -> ResourceVersion:
    """One version by number, or ``NotFound``."""
    version = resource.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"{resource} has no version {number}.")
    return version


def version_resolve(*, resource: VersionedResource, ref: str | int) -> ResourceVersion:
    """Resolve a version part (``3``, ``"3"``, ``"v3"``, ``"latest"`` or a label name) to a version.

    The grammar is ``llmops.core.refs.version_parse``'s; a ref it refuses names no version or label, and is
    ``NotFound`` like any other unknown one.
    """
    try:
        version = version_parse(ref)
    except ValidationError:
        raise NotFound(f"{resource} has no version or label {ref!r}.") from None
    if isinstance(version, int):
        return version_get(resource=resource, number=version)
    if version == LATEST:
        latest = resource.versions.order_by("-number").first()
        if latest is None:
            raise NotFound(f"{resource} has no published version yet.")
        return latest
    # ignore: django-stubs checks lookups against the abstract base, where the FK is only an annotation.
    label = resource.labels.select_related("version").filter(name=version).first()  # type: ignore[misc]
    if label is None:
        raise NotFound(f"{resource} has no version or label {ref!r}.")
    return label.version


def _check_label_name(name: str) -> None:
    problem = label_name_problem(name)
    if problem is not None:
        raise ValidationError("Invalid label name.", fields={"name": [problem]})


LabelGuard = Callable[[VersionedResource, ResourceVersion, str, Any], None]
LABEL_GUARDS: list[LabelGuard] = []


def label_guard_register(guard: LabelGuard) -> None:
    """Have ``guard(resource, version, label, user)`` checked before every label move; it raises to refuse
    (e.g. the evaluations app's promotion gate). Apps register theirs in ``AppConfig.ready``."""
    if guard not in LABEL_GUARDS:
        LABEL_GUARDS.append(guard)


def label_set(*, resource: VersionedResource, name: str, number: int, user: Any) -> ResourceLabel:
    """Point label ``name`` at version ``number`` (creating or moving it), once every guard allows it.

    Guards run before the write's transaction, so the audit rows they keep survive a refusal.
    """
    _check_label_name(name)
    version = version_get(resource=resource, number=number)
    for guard in LABEL_GUARDS:
        guard(resource, version, name, user)
    with transaction.atomic():
        # ignore: django-stubs checks fields against the abstract base, where the FK is only an annotation.
        label, _ = resource.labels.update_or_create(
            name=name,
            defaults={"version": version, "updated_by": user},  # type: ignore[misc]
        )
    return label


@transaction.atomic
def label_delete(*, resource: VersionedResource, name: str) -> None:
    """Remove a label; the version it pointed at stays."""
    deleted, _ = resource.labels.filter(name=name).delete()
    if not deleted:
        raise NotFound(f"{resource} has no label {name!r}.")


@transaction.atomic
def version_restore(*, resource: R, number: int, user: Any) -> R:
    """Copy a version's content into the draft; the versions themselves are untouched."""
    version = version_get(resource=resource, number=number)
    resource.draft = version.content
    resource.save(update_fields=["draft", "updated_at"])
    return resource


def resource_create(
    *,
    model: type[R],
    workspace: Any,
    user: Any,
    name: str,
    slug: str,
    description: str = "",
    draft: dict[str, Any] | None = None,
    **fields: Any,
) -> R:
    """Create a resource with its first draft; a taken slug is a conflict naming the field."""
    taken = Conflict(
        f"{model._meta.verbose_name} {slug!r} already exists.", fields={"slug": ["Already taken."]}
    )
    if model._default_manager.filter(workspace=workspace, slug=slug).exists():
        raise taken
    return unique_write(
        lambda: model._default_manager.create(
            workspace=workspace, created_by=user, name=name, slug=slug, description=description,
            draft=draft or {}, **fields,
        ),
        taken,
    )  # fmt: skip


def unique_write(write: Callable[[], T], taken: Conflict) -> T:
    """Run ``write`` (a create or save a unique constraint may refuse) in a savepoint: when a concurrent
    request took the value first (after this one's existence check), the loser gets ``taken``, not a 500."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError:
        raise taken from None


def resource_etag(resource: VersionedResource) -> str:
    """The head's entity tag: it changes with every save of the head (``updated_at`` to the microsecond)."""
    return f'"{int(resource.updated_at.timestamp() * 1_000_000)}"'


@transaction.atomic
def resource_update(*, resource: R, if_match: str | None = None, **changes: Any) -> R:
    """Update the editable head (name, description, draft, resource-specific columns).

    With ``if_match`` (an entity tag from :func:`resource_etag`), the row is locked and the update happens only
    when the head is still in that state; otherwise ``PreconditionFailed`` (412) and nothing changes: two people
    editing one draft cannot overwrite each other unknowingly.
    """
    if if_match is not None:
        current = type(resource)._default_manager.select_for_update().get(pk=resource.pk)
        # A proxy that compresses responses may have weakened the tag (``W/"..."``): the state it names counts.
        if if_match.strip().removeprefix("W/") not in ("*", resource_etag(current)):
            raise PreconditionFailed(
                f"{resource.slug} was saved by someone else since you loaded it "
                f"(at {current.updated_at:%Y-%m-%d %H:%M:%S} UTC). Reload it and apply your change again."
            )
    for field, value in changes.items():
        setattr(resource, field, value)
    resource.save(update_fields=[*changes, "updated_at"])
    return resource


def version_diff(*, resource: VersionedResource, old: int, new: int) -> list[dict[str, Any]]:
    """RFC 6902 operations turning version ``old`` into version ``new`` (each with the old value)."""
    before = version_get(resource=resource, number=old).content
    after = version_get(resource=resource, number=new).content
    operations: list[dict[str, Any]] = list(jsonpatch.make_patch(before, after))
    for operation in operations:
        if operation["op"] in ("replace", "remove"):
            operation["old"] = jsonpatch.JsonPointer(operation["path"]).resolve(before)
    return operations
