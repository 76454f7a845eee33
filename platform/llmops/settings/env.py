"""Typed readers for the environment: the only place settings touch ``os.environ``.

Every reader accepts ``NAME`` or ``NAME_FILE`` (a path whose content is the value, for container secrets)
and raises :class:`SettingError` naming the variable when a value is malformed, so a bad configuration
stops the process at start-up with one clear line instead of failing later.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingError(ImproperlyConfigured):
    """A configuration variable is missing or malformed."""


def _raw(name: str) -> str | None:
    """Return the value of ``name``, or the content of the file named by ``name_FILE``."""
    value = os.environ.get(name)
    if value is not None:
        return value
    file_path = os.environ.get(f"{name}_FILE")
    if file_path is None:
        return None
    try:
        return Path(file_path).read_text().strip()
    except OSError as exc:
        raise SettingError(f"{name}_FILE={file_path!r} cannot be read: {exc.strerror}") from exc


def env_str(name: str, default: str | None = None) -> str | None:
    """A string variable, or ``default`` when unset."""
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    """A boolean variable: 1/true/yes/on or 0/false/no/off (any case)."""
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingError(f"{name}={value!r} is not a boolean; use true or false")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer variable within optional bounds."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise SettingError(f"{name}={value!r} is not an integer") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise SettingError(f"{name}={number} is out of range [{minimum}, {maximum}]")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_allowlist(name: str, default: list[str]) -> list[str]:
    """A comma-separated SSRF allow-list: host names (``api.internal``, ``*.corp.example``) and IP networks
    (``10.0.0.0/8``, ``127.0.0.1``); an entry with a ``/`` that is not a network is refused."""
    entries = env_list(name, default)
    for entry in entries:
        if "/" in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise SettingError(f"{name} holds {entry!r}, which is not a CIDR") from None
    return entries


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """A variable restricted to ``choices``."""
    value = (_raw(name) or default).strip().lower()
    if value not in choices:
        raise SettingError(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


def env_url(name: str, schemes: tuple[str, ...]) -> str | None:
    """A URL variable whose scheme must be one of ``schemes``; ``None`` when unset."""
    value = _raw(name)
    if value is None or not value.strip():
        return None
    value = value.strip()
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in schemes or not rest:
        raise SettingError(f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}")
    return value
