"""The http-request node: method, URL, headers, params, body, authorization and timeouts.

API keys never travel into the draft: an authorization becomes a header reading a secret environment
variable, which the report lists as a binding to set.
"""

from __future__ import annotations

from typing import Any

from llmops.studio.dify.context import Mapped, NodeMapper

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
_BODY_TYPES = {
    "none": "none",
    "json": "json",
    "raw-text": "text",
    "x-www-form-urlencoded": "form",
    "form-data": "form",
}
_AUTH_PREFIX = {"bearer": "Bearer ", "basic": "Basic ", "custom": ""}


def http_request(m: NodeMapper) -> Mapped:
    """An http_request node; the SSRF guard and redirects follow this platform's settings."""
    data = m.data
    method = str(data.get("method") or "get").upper()
    if method not in _METHODS:
        m.fail(f"method {method!r} has no equivalent")
    config: dict[str, Any] = {
        "method": method,
        "url": m.template(data.get("url"), "url"),
        "headers": _pairs(m, data.get("headers"), "headers"),
        "params": _pairs(m, data.get("params"), "params"),
    }
    config.update(_body(m, data.get("body") or {}))
    environment = _authorization(m, data.get("authorization") or {}, config["headers"])
    timeout = _timeout(data.get("timeout") or {})
    if timeout:
        config["timeout_seconds"] = timeout
    if data.get("ssl_verify") is False:
        m.warn("TLS certificate verification cannot be turned off here")
    return Mapped("http_request", config, environment=environment)


def _pairs(m: NodeMapper, text: Any, what: str) -> dict[str, str]:
    """Dify's ``key:value`` lines (the format of headers and params) as a mapping of templates."""
    pairs: dict[str, str] = {}
    for line in str(text or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip():
            pairs[key.strip()] = m.template(value.strip(), f"{what} {key.strip()!r}")
    return pairs


def _body(m: NodeMapper, body: dict[str, Any]) -> dict[str, Any]:
    kind = str(body.get("type") or "none")
    if kind not in _BODY_TYPES:
        m.fail(f"a {kind!r} body has no equivalent")
        return {}
    ours = _BODY_TYPES[kind]
    items = _items(body.get("data"), form=ours == "form")
    if ours == "none":
        return {}
    if ours == "form":
        if any(item.get("type") == "file" for item in items):
            m.fail("file fields in a form body have no equivalent")
        if kind == "form-data":
            m.warn("the multipart form body is sent url-encoded")
        form = {str(i.get("key")): m.template(i.get("value"), f"form field {i.get('key')!r}") for i in items}
        return {"body_type": "form", "form": form}
    text = "".join(str(item.get("value") or "") for item in items)
    return {"body_type": ours, "body": m.template(text, "body")}


def _items(data: Any, *, form: bool) -> list[dict[str, Any]]:
    # Newer files hold a list of {key, type, value}; older ones a string ("k:v" lines for forms).
    if isinstance(data, list):
        return [dict(item) for item in data]
    text = str(data or "")
    if form:
        lines = [line.partition(":") for line in text.splitlines() if line.strip()]
        return [{"key": k.strip(), "type": "text", "value": v.strip()} for k, _, v in lines]
    return [{"key": "", "type": "text", "value": text}]


def _authorization(m: NodeMapper, auth: dict[str, Any], headers: dict[str, str]) -> list[dict[str, Any]]:
    if auth.get("type") in (None, "no-auth"):
        return []
    settings = auth.get("config") or {}
    kind = str(settings.get("type") or "bearer")
    if kind not in _AUTH_PREFIX:
        m.fail(f"authorization type {kind!r} has no equivalent")
        return []
    name = f"{m.info.our_id.upper()}_API_KEY"
    header = str(settings.get("header") or "Authorization") if kind == "custom" else "Authorization"
    headers[header] = _AUTH_PREFIX[kind] + "{{ env." + name + " }}"
    m.bind("secret", name, {"header": header})
    if settings.get("api_key"):
        m.warn(f"the API key in the file was not imported: set the secret {name}")
    return [{"name": name, "type": "secret", "description": f"API key of {m.node.title or m.info.our_id}"}]


def _timeout(timeout: dict[str, Any]) -> float | None:
    values = [float(v) for k, v in timeout.items() if k in ("connect", "read", "write") and v]
    return min(max(values), 600.0) if values else None
