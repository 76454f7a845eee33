"""Dataset content: validation, import from CSV and JSONL, export; pure functions (no database).

Content is ``{"items": [item, ...]}``; an item is ``{"id", "inputs", "expected", "metadata", "tags",
"source_run_id"}`` where only ``inputs`` (an object) is required. Ids are kept when given (unique within the
dataset) and made up (``item-<n>``) otherwise, so evaluation results stay comparable across versions.

Import is all or nothing: every bad row (a missing cell, invalid JSON, a wrong type; up to
``MAX_REPORTED_ROWS``) is reported by its line number, one message per line under ``file`` in a
``ValidationError``, and nothing is added. A problem that stops the reading (a bad header, broken quoting, a
file that is not UTF-8) ends the list there.

CSV columns: ``input`` (becomes ``inputs.input``), ``inputs.<name>`` (one input each), or ``inputs`` (a JSON
object); ``expected``; ``metadata.<key>``; ``tags`` (separated by ``,`` or ``;``); ``id``. A cell of
``expected`` or ``inputs.<name>`` that holds JSON (an object, an array) is parsed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings

from llmops.core.errors import ValidationError

ITEM_KEYS = {"id", "inputs", "expected", "metadata", "tags", "source_run_id"}
MAX_ID_CHARS = 100
MAX_REPORTED_ROWS = 100  # bad rows listed by one import; past it the file is surely the wrong one
_TAG_SPLIT = re.compile(r"[,;]")
CSV_SPECIAL = {"id", "input", "inputs", "expected", "tags", "source_run_id"}


def max_items() -> int:
    """The most items a dataset may hold (``LLMOPS_EVAL_MAX_DATASET_ITEMS``)."""
    return int(getattr(settings, "LLMOPS_EVAL_MAX_DATASET_ITEMS", 20_000))


def max_item_bytes() -> int:
    """The most bytes one item may take as JSON (``LLMOPS_EVAL_MAX_ITEM_BYTES``)."""
    return int(getattr(settings, "LLMOPS_EVAL_MAX_ITEM_BYTES", 1024 * 1024))


def max_dataset_bytes() -> int:
    """The most bytes a dataset's items may take as JSON together (``LLMOPS_EVAL_MAX_DATASET_BYTES``)."""
    return int(getattr(settings, "LLMOPS_EVAL_MAX_DATASET_BYTES", 64 * 1024 * 1024))


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def _problem(where: str, message: str, field: str) -> ValidationError:
    return ValidationError(f"{where}: {message}", fields={field: [f"{where}: {message}"]})


def _item(raw: Any, where: str, field: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _problem(where, "an item must be an object", field)
    unknown = sorted(set(raw) - ITEM_KEYS)
    if unknown:
        raise _problem(where, f"unknown keys {unknown}; allowed: {sorted(ITEM_KEYS)}", field)
    inputs = raw.get("inputs")
    if not isinstance(inputs, dict):
        raise _problem(where, "'inputs' must be an object", field)
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _problem(where, "'metadata' must be an object", field)
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise _problem(where, "'tags' must be a list of non-empty strings", field)
    item_id = raw.get("id")
    if item_id is not None and (not isinstance(item_id, str | int) or isinstance(item_id, bool)):
        raise _problem(where, "'id' must be a string", field)
    source = raw.get("source_run_id")
    if source is not None and not isinstance(source, str):
        raise _problem(where, "'source_run_id' must be a string", field)
    item: dict[str, Any] = {
        "id": str(item_id).strip()[:MAX_ID_CHARS] if item_id is not None else "",
        "inputs": inputs,
        "expected": raw.get("expected"),
        "metadata": metadata,
        "tags": tags,
    }
    if source:
        item["source_run_id"] = source
    if _size(item) > max_item_bytes():
        raise _problem(where, f"the item is larger than {max_item_bytes()} bytes as JSON", field)
    return item


def item_validate(raw: Any, *, where: str, field: str) -> dict[str, Any]:
    """One item, normalised (an empty ``id`` is filled in when it joins a dataset); ``ValidationError``
    whose message starts with ``where`` (``"item 3"``, ``"line 7"``) under ``field``."""
    return _item(raw, where, field)


def _total_size_check(items: Sequence[dict[str, Any]], field: str) -> None:
    """The dataset's items together stay within ``max_dataset_bytes()``: a draft is one database row. (A draft
    sent whole is already bounded by the request body limit; imports and runs added are what grow it.)"""
    if _size(items) > max_dataset_bytes():
        raise ValidationError(
            f"A dataset's items take at most {max_dataset_bytes()} bytes as JSON.",
            fields={field: [f"At most {max_dataset_bytes()} bytes of items."]},
        )


def _with_ids(items: list[dict[str, Any]], taken: set[str], field: str) -> list[dict[str, Any]]:
    """Unique ids: given ones must not repeat; missing ones become ``item-<n>`` (the next free n)."""
    counter = 0
    for index, item in enumerate(items):
        if item["id"]:
            if item["id"] in taken:
                raise _problem(f"item {index}", f"the id {item['id']!r} is used twice", field)
            taken.add(item["id"])
    for item in items:
        if not item["id"]:
            counter += 1
            while f"item-{counter}" in taken:
                counter += 1
            item["id"] = f"item-{counter}"
            taken.add(item["id"])
    return items


def content_validate(content: Any) -> dict[str, Any]:
    """A dataset draft, normalised (ids filled in); ``ValidationError`` naming the first bad item."""
    if not isinstance(content, dict) or set(content) - {"items"}:
        raise ValidationError(
            "A dataset draft is {'items': [...]}.", fields={"draft": ["Expected {items: [...]}."]}
        )
    raw = content.get("items", [])
    if not isinstance(raw, list):
        raise ValidationError("'items' must be a list.", fields={"draft.items": ["Expected a list."]})
    if len(raw) > max_items():
        raise ValidationError(
            f"A dataset holds at most {max_items()} items.",
            fields={"draft.items": [f"At most {max_items()}."]},
        )
    items = [_item(entry, f"item {index}", f"draft.items.{index}") for index, entry in enumerate(raw)]
    return {"items": _with_ids(items, set(), "draft.items")}


# --- import ------------------------------------------------------------------------------------------------


def _cell(value: str) -> Any:
    """A CSV cell: JSON objects and arrays are parsed, anything else stays text."""
    text = value.strip()
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return value
    return value


def _csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank record with the line it starts on (a quoted cell may span lines; blank lines, which
    ``csv.DictReader`` would skip without saying so, still count)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _problem(f"line {start}", f"broken CSV ({exc})", "file") from None
        if record:
            yield start, record


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, str] | ValidationError]]:
    records = _csv_records(text)
    header = next(records, None)
    if header is None:
        raise _problem("line 1", "the file has no header row", "file")
    header_line, fields = header
    where = f"line {header_line}"
    if len(set(fields)) != len(fields):
        raise _problem(where, "a column name is repeated", "file")
    if not ({"input", "inputs"} & set(fields) or any(f.startswith("inputs.") for f in fields)):
        raise _problem(where, "no input column: add 'input', 'inputs' (JSON) or 'inputs.<name>'", "file")
    unknown = [f for f in fields if f not in CSV_SPECIAL and not f.startswith(("inputs.", "metadata."))]
    if unknown:
        raise _problem(where, f"unknown columns {unknown}", "file")
    for start, record in records:
        if len(record) != len(fields):
            yield (
                start,
                _problem(f"line {start}", f"expected {len(fields)} cells, found {len(record)}", "file"),
            )
        else:
            yield start, dict(zip(fields, record, strict=True))


def _from_csv_row(row: dict[str, str], where: str) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    if row.get("inputs", "").strip():
        parsed = _cell(row["inputs"])
        if not isinstance(parsed, dict):
            raise _problem(where, "the 'inputs' cell must hold a JSON object", "file")
        inputs.update(parsed)
    if "input" in row:
        inputs["input"] = row["input"]
    for name, value in row.items():
        if name.startswith("inputs.") and name != "inputs.":
            inputs[name.removeprefix("inputs.")] = _cell(value)
    expected = row.get("expected")
    return {
        "id": (row.get("id") or "").strip() or None,
        "inputs": inputs,
        "expected": _cell(expected) if expected not in (None, "") else None,
        "metadata": {
            k.removeprefix("metadata."): v for k, v in row.items() if k.startswith("metadata.") and v != ""
        },
        "tags": [t.strip() for t in _TAG_SPLIT.split(row.get("tags") or "") if t.strip()],
        "source_run_id": (row.get("source_run_id") or "").strip() or None,
    }


def _decoded(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise _problem(f"line {line}", "the file is not UTF-8", "file") from None


def _raw_rows(text: str, fmt: str) -> Iterator[tuple[str, Any]]:
    """``(where, raw item)`` per row, the raw item being the row's ``ValidationError`` when it is bad; a
    problem that stops the reading is raised."""
    if fmt == "csv":
        for line_number, row in _csv_rows(text):
            where = f"line {line_number}"
            try:
                yield where, row if isinstance(row, ValidationError) else _from_csv_row(row, where)
            except ValidationError as exc:
                yield where, exc
    elif fmt == "jsonl":
        # Only "\n" ends a JSON line: str.splitlines() would also split at U+2028, U+0085 and other
        # separators that json.dumps(ensure_ascii=False), and so our own export, leaves inside strings.
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"line {number}", _problem(f"line {number}", f"invalid JSON ({exc.msg})", "file")
    else:
        raise ValidationError("Unknown import format.", fields={"format": ["One of csv, jsonl."]})


def _row_item(where: str, entry: Any) -> dict[str, Any]:
    if isinstance(entry, ValidationError):
        raise entry
    if isinstance(entry, dict):
        entry = {k: v for k, v in entry.items() if v is not None or k == "expected"}
    return _item(entry, where, "file")


def parse_import(content: bytes, fmt: str) -> list[dict[str, Any]]:
    """Items from a CSV or JSONL file, validated; every bad row (up to ``MAX_REPORTED_ROWS``) is reported by
    its line number, one message each under ``file``, and then nothing is imported."""
    text = _decoded(content)
    items: list[dict[str, Any]] = []
    problems: list[str] = []
    try:
        for where, entry in _raw_rows(text, fmt):
            try:
                items.append(_row_item(where, entry))
            except ValidationError as exc:
                problems += exc.fields.get("file", [exc.message])
                if len(problems) >= MAX_REPORTED_ROWS:
                    break
    except ValidationError as exc:  # a problem that stops the reading ends the list
        if not problems:
            raise
        problems += exc.fields.get("file", [exc.message])
    if problems:
        count = f"{len(problems)}+" if len(problems) >= MAX_REPORTED_ROWS else str(len(problems))
        message = problems[0] if len(problems) == 1 else f"{count} bad rows; nothing was imported."
        raise ValidationError(message, fields={"file": problems})
    if not items:
        raise ValidationError("The file holds no items.", fields={"file": ["No rows after the header."]})
    return items


def merged(
    current: Sequence[dict[str, Any]], new: list[dict[str, Any]], mode: str, *, field: str = "file"
) -> dict[str, Any]:
    """The draft after an import: ``append`` to the current items, or ``replace`` them (both validated)."""
    if mode not in ("append", "replace"):
        raise ValidationError("Unknown import mode.", fields={"mode": ["One of append, replace."]})
    keep = list(current) if mode == "append" else []
    if len(keep) + len(new) > max_items():
        raise ValidationError(
            f"A dataset holds at most {max_items()} items.",
            fields={field: [f"At most {max_items()} items."]},
        )
    _total_size_check(keep + new, field)
    return {"items": keep + _with_ids(new, {item["id"] for item in keep}, field)}


# --- export ------------------------------------------------------------------------------------------------


def export_jsonl(items: Sequence[dict[str, Any]]) -> str:
    """One JSON object per line."""
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def _flat(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def export_csv(items: Sequence[dict[str, Any]]) -> str:
    """A CSV that imports back to the same items (``inputs.<name>`` and ``metadata.<key>`` columns, and
    ``source_run_id`` when an item has one). Text survives exactly; other scalars (numbers, booleans) come
    back as text, as CSV has no types: JSONL is the lossless format."""
    input_names = sorted({name for item in items for name in item["inputs"]})
    meta_names = sorted({key for item in items for key in item.get("metadata", {})})
    linked = any(item.get("source_run_id") for item in items)
    columns = [
        "id",
        *(f"inputs.{n}" for n in input_names),
        "expected",
        *(f"metadata.{k}" for k in meta_names),
        "tags",
        *(["source_run_id"] if linked else []),
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([
            item["id"],
            *(_flat(item["inputs"].get(n)) for n in input_names),
            _flat(item.get("expected")),
            *(_flat(item.get("metadata", {}).get(k)) for k in meta_names),
            ";".join(item.get("tags", [])),
            *([item.get("source_run_id") or ""] if linked else []),
        ])  # fmt: skip
    return out.getvalue()
