"""The debug page's settings filter: passwords inside URLs are hidden too.

Django hides settings whose *name* looks secret (``SECRET_KEY``, ``DATABASES[...]["PASSWORD"]``...), but a
password inside a URL-valued setting (``REDIS_URL``, ``CACHES[...]["LOCATION"]``, ``CELERY_BROKER_URL``,
channel-layer hosts, ``DATABASE_URL``) would be shown as is on the development debug page.
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@host  or  scheme://:password@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@/\s]+)(?P<at>@)")


class UrlPasswordFilter(SafeExceptionReporterFilter):
    """Django's filter, plus the password of any URL in a setting's value replaced by the mask."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return _URL_PASSWORD.sub(lambda m: f"{m['head']}{self.cleansed_substitute}{m['at']}", cleansed)
        return cleansed
