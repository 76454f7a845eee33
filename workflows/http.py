"""HTTP: the SSRF-guarded HttpClient the engine ships."""

from __future__ import annotations

from workflows._http import GuardedHttpClient

__all__ = ["GuardedHttpClient"]
