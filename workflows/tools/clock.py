"""Time tools: the current time in a zone, the list of zones, and converting a time between zones."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from workflows._errors import ToolError
from workflows._ports import CallContext, ToolResult, ToolSpec
from workflows.tools._base import Tool, schema

_DEFAULT_FORMAT = "%Y-%m-%d %H:%M:%S %Z"
_MAX_ZONES = 600  # there are about 600 IANA zones; a filter keeps answers short
_ZONE = {"type": "string", "description": "An IANA time zone name such as 'Europe/Paris' (default UTC)"}

CURRENT_TIME = ToolSpec(
    "current_time",
    "The current date and time in a time zone (IANA name, default UTC): ISO 8601, a formatted string, the "
    "weekday and the Unix timestamp. Call it whenever the answer depends on today's date or the time.",
    schema(
        {
            "timezone": _ZONE,
            "format": {
                "type": "string",
                "maxLength": 100,
                "description": f"A strftime format for the 'formatted' field (default {_DEFAULT_FORMAT!r})",
            },
        }
    ),
    timeout_seconds=5.0,
    max_output_chars=5_000,
)
LIST_TIME_ZONES = ToolSpec(
    "list_time_zones",
    "List IANA time zone names, optionally only those containing a text (e.g. 'America' or 'Tokyo'). Use "
    "it to find the exact zone name the other time tools need.",
    schema({"contains": {"type": "string", "maxLength": 100, "description": "Case-insensitive filter"}}),
    timeout_seconds=5.0,
    max_output_chars=20_000,
)
CONVERT_TIME_ZONE = ToolSpec(
    "convert_time_zone",
    "Convert a date and time from one time zone to another, e.g. '2024-05-01 09:30' from 'Europe/Paris' to "
    "'Asia/Tokyo'. Without a time, converts the current time.",
    schema(
        {
            "time": {
                "type": "string",
                "maxLength": 64,
                "description": "ISO 8601 date and time ('2024-05-01 09:30' or '2024-05-01T09:30:00'); "
                "an offset in it overrides from_timezone",
            },
            "from_timezone": _ZONE,
            "to_timezone": {"type": "string", "description": "The IANA zone to convert to"},
        },
        ("to_timezone",),
    ),
    timeout_seconds=5.0,
    max_output_chars=5_000,
)


def zone(name: str | None) -> tzinfo:
    """An IANA zone by name (UTC when empty), or a ``ToolError``."""
    name = (name or "UTC").strip()
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {name!r}; list_time_zones gives the valid names") from None


def _describe(moment: datetime, zone_name: str, fmt: str = _DEFAULT_FORMAT) -> dict[str, Any]:
    try:
        formatted = moment.strftime(fmt)
    except ValueError as exc:
        raise ToolError(f"invalid format {fmt!r}: {exc}") from None
    return {
        "time": moment.isoformat(),
        "timezone": zone_name,
        "formatted": formatted,
        "weekday": moment.strftime("%A"),
        "utc_offset": moment.strftime("%z"),
        "timestamp": int(moment.timestamp()),
    }


async def _current_time(arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
    name = str(arguments.get("timezone") or "UTC")
    data = _describe(datetime.now(zone(name)), name, str(arguments.get("format") or _DEFAULT_FORMAT))
    return ToolResult(data, data["formatted"])


async def _list_time_zones(arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
    needle = str(arguments.get("contains") or "").lower()
    names = sorted(n for n in available_timezones() if needle in n.lower())[:_MAX_ZONES]
    return ToolResult(names, "\n".join(names) or f"no time zone name contains {needle!r}")


async def _convert_time_zone(arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
    source_name = str(arguments.get("from_timezone") or "UTC")
    target_name = str(arguments["to_timezone"])
    source, target = zone(source_name), zone(target_name)
    text = str(arguments.get("time") or "").strip()
    if text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ToolError(f"cannot read the time {text!r}: use ISO 8601, e.g. '2024-05-01 09:30'") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=source)
    else:
        moment = datetime.now(source)
    converted = moment.astimezone(target)
    data = {"from": _describe(moment, source_name), "to": _describe(converted, target_name)}
    return ToolResult(data, data["to"]["formatted"])


def tools() -> list[Tool]:
    """The time tools."""
    return [
        Tool(CURRENT_TIME, _current_time),
        Tool(LIST_TIME_ZONES, _list_time_zones),
        Tool(CONVERT_TIME_ZONE, _convert_time_zone),
    ]
