"""References to versioned resources (prompts, chains, model endpoints, workflows): one grammar, one parser.

::

    ref     = slug [ ":" number | "@" label ]
    slug    = 1 to 100 of  A-Z a-z 0-9 - _                  (what a resource's slug may be)
    number  = [ "v" ] 0-9 ...                                ("slug:3" and "slug:v3" are version 3)
    label   = a-z 0-9, then up to 62 of  a-z 0-9 _ . -       (what ``label_set`` lets you create)

``slug`` alone means the latest published version. The label-shaped names no label may have keep the
meaning they always had: ``slug@latest`` is ``slug``, ``slug@3`` / ``slug@v3`` are ``slug:3``, and
``slug@draft`` is the resource's unpublished draft (prompts and chains have always read it so; see
``DRAFT``). So every label you can create can be referenced, and every ``@name`` that names a label is one
you can create. ``str(ref)`` is the canonical form: ``slug``, ``slug@label``, ``slug@draft`` or ``slug:3``.

The *version part* alone (a deployment's or a schedule's ``version``, ``version_resolve``'s ``ref``) is
parsed by :func:`version_parse`: ``3``, ``"3"``, ``"v3"``, ``"latest"``, ``"draft"`` or a label name.

Pure Python (no Django): pydantic schemas use :data:`REF_PATTERN` with ``max_length=REF_MAX_LENGTH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmops.core.errors import ValidationError

LATEST = "latest"
# The editable head. Prompts and chains (render, run, references) have always read "draft" so, which made a
# label of that name unreachable; it is reserved like "latest". ``version_resolve`` returns versions only,
# so there it still finds a label created before the reservation, as it always did.
DRAFT = "draft"
REF_MAX_LENGTH = 200
SLUG = r"[-a-zA-Z0-9_]{1,100}"
LABEL_NAME = r"[a-z0-9][a-z0-9_.-]{0,62}"
_NUMBER = r"v?[0-9]+"
# ``^``/``$`` for pydantic (whose regex engine has no trailing-newline quirk); Python code uses fullmatch.
SLUG_PATTERN = rf"^{SLUG}$"
REF_PATTERN = rf"^{SLUG}(?::{_NUMBER}|@{LABEL_NAME})?$"

LABEL_RULE = "Labels are lowercase letters, digits, '-', '_' or '.', up to 63 characters."
REF_FORMS = "Use slug, slug@label or slug:3."
_LABEL_SHAPE = (
    "lowercase letters, digits, '-', '_' or '.', starting with a letter or digit, up to 63 characters"
)

_KEYWORDS = (LATEST, DRAFT)
_SLUG = re.compile(SLUG)
_LABEL = re.compile(LABEL_NAME)
_NUMBER_RE = re.compile(r"v?([0-9]+)")
_REF = re.compile(rf"(?P<slug>{SLUG})(?::(?P<number>{_NUMBER})|@(?P<name>{LABEL_NAME}))?")


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """A parsed reference: ``version`` is a number, ``"latest"``, ``"draft"`` or a label name."""

    slug: str
    version: int | str = LATEST

    def __post_init__(self) -> None:
        if not _SLUG.fullmatch(self.slug):
            raise ValueError(f"{self.slug!r} is not a slug")
        if isinstance(self.version, bool) or (isinstance(self.version, int) and self.version < 0):
            raise ValueError(f"{self.version!r} is not a version number")
        if isinstance(self.version, str) and self.label and label_name_problem(self.version):
            raise ValueError(f"{self.version!r} is not a label name (parse versions with version_parse)")

    def __str__(self) -> str:
        if isinstance(self.version, int):
            return f"{self.slug}:{self.version}"
        return self.slug if self.version == LATEST else f"{self.slug}@{self.version}"

    @property
    def number(self) -> int | None:
        """The pinned version number, or ``None``."""
        return self.version if isinstance(self.version, int) else None

    @property
    def label(self) -> str | None:
        """The label name, or ``None`` for a number, ``latest`` or ``draft``."""
        return self.version if isinstance(self.version, str) and self.version not in _KEYWORDS else None


def label_name_reserved(name: str) -> bool:
    """Whether a reference would read ``name`` as a version rather than a label (``latest``, ``v3``...)."""
    return name in _KEYWORDS or _NUMBER_RE.fullmatch(name) is not None


def label_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a label, or ``None`` when it can."""
    if not _LABEL.fullmatch(name):
        return LABEL_RULE
    if label_name_reserved(name):
        return f"{name!r} is reserved."
    return None


def _version_of(text: str) -> int | str:
    """The meaning of a label-shaped or number-shaped version part already known to be well formed."""
    number = _NUMBER_RE.fullmatch(text)
    return int(number[1]) if number else text


def version_parse(value: str | int, *, field: str = "version") -> int | str:
    """``3``, ``"3"``, ``"v3"`` (a number), ``"latest"``, ``"draft"`` or a label; else a ``ValidationError``."""
    if isinstance(value, str):
        if len(value) <= REF_MAX_LENGTH and (_NUMBER_RE.fullmatch(value) or _LABEL.fullmatch(value)):
            return _version_of(value)
    elif value >= 0 and not isinstance(value, bool):
        return value
    raise ValidationError(
        f"Invalid version {value!r}.",
        fields={field: [f'Use a version number (3 or v3), "latest" or a label name ({_LABEL_SHAPE}).']},
    )


def ref_problem(text: str) -> str | None:
    """Why ``text`` is not a reference (exactly, without surrounding whitespace), or ``None`` when it is."""
    if not text:
        return "it is empty"
    if len(text) > REF_MAX_LENGTH:
        return f"it is longer than {REF_MAX_LENGTH} characters"
    if _REF.fullmatch(text):
        return None
    slug, *tail = re.split(r"([@:])", text, maxsplit=1)
    separator, rest = tail or ("", "")
    if not _SLUG.fullmatch(slug):
        return f"the slug {slug!r} is not 1 to 100 letters, digits, '-' or '_'"
    if separator == ":":
        return f"after ':' comes a version number (slug:3 or slug:v3), not {rest!r}"
    return f"{rest!r} is not a label name: {_LABEL_SHAPE}"


def ref_parse(text: str, *, kind: str = "resource", field: str = "ref") -> ResourceRef:
    """Parse ``slug``, ``slug@label`` or ``slug:3`` (surrounding whitespace ignored).

    A malformed reference is a ``ValidationError`` whose message names ``kind`` (``"prompt"``...) and says
    what is wrong; its field error is under ``field``.
    """
    stripped = text.strip()
    problem = ref_problem(stripped)  # first: it bounds the length before any digits become an int
    if problem is not None:
        raise ValidationError(
            f"Invalid {kind} reference {text!r}: {problem}.",
            fields={field: [f"{problem[0].upper()}{problem[1:]}. {REF_FORMS}"]},
        )
    match = _REF.fullmatch(stripped)
    assert match is not None  # ref_problem found nothing wrong
    if match["number"] is not None:
        return ResourceRef(match["slug"], _version_of(match["number"]))
    return ResourceRef(match["slug"], _version_of(match["name"]) if match["name"] else LATEST)
