"""Secrets and transport security.

In development the secret key, the encryption key and the API key pepper are generated once and kept in the
state folder; production mode refuses to start without ``LLMOPS_SECRET_KEY`` and ``LLMOPS_ENCRYPTION_KEYS``
(and warns without ``LLMOPS_API_KEY_PEPPER``). After prepending a new encryption key, ``manage.py
rotate_secrets`` re-encrypts every stored secret with it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from llmops.settings.base import PRODUCTION, STATE_DIR
from llmops.settings.env import SettingError, env_bool, env_list, env_str


def _state_secret(filename: str, make: str) -> str:
    """Read a generated secret from the state folder, creating it (mode 0600) on first use."""
    path = Path(STATE_DIR) / "secrets" / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(make)
    return make


def _required_in_production(name: str, dev_file: str, dev_value: str) -> str:
    value = env_str(name)
    if value:
        return value
    if PRODUCTION:
        raise SettingError(f"{name} must be set when LLMOPS_MODE=production")
    return _state_secret(dev_file, dev_value)


SECRET_KEY = _required_in_production("LLMOPS_SECRET_KEY", "secret_key", secrets.token_urlsafe(50))

# API key digests are HMACs keyed with this pepper, a secret of its own so that rotating LLMOPS_SECRET_KEY
# (sessions, signing) does not invalidate every API key. Development generates one in the state folder;
# production without it falls back to LLMOPS_SECRET_KEY (empty here; a system check warns). Keys issued
# under the secret key keep working after a pepper is set: each is re-digested with it at its next use.
LLMOPS_API_KEY_PEPPER = env_str("LLMOPS_API_KEY_PEPPER") or (
    "" if PRODUCTION else _state_secret("api_key_pepper", secrets.token_urlsafe(50))
)

# Fernet keys for secrets at rest; the first encrypts, all decrypt (rotation: prepend a new key).
LLMOPS_ENCRYPTION_KEYS = env_list("LLMOPS_ENCRYPTION_KEYS", [])
if not LLMOPS_ENCRYPTION_KEYS:
    if PRODUCTION:
        raise SettingError("LLMOPS_ENCRYPTION_KEYS must be set when LLMOPS_MODE=production")
    LLMOPS_ENCRYPTION_KEYS = [_state_secret("encryption_key", Fernet.generate_key().decode())]
for _key in LLMOPS_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise SettingError(
            "LLMOPS_ENCRYPTION_KEYS holds a key that is not a Fernet key (make one with: "
            "python -c 'import cryptography.fernet as f; print(f.Fernet.generate_key().decode())')"
        ) from None

# /readyz is unauthenticated: its per-check details (worker host names, error texts) only in development.
LLMOPS_READYZ_DETAIL = env_bool("LLMOPS_READYZ_DETAIL", not PRODUCTION)

# The development debug page hides passwords inside URL settings (REDIS_URL...) as well as secret names.
DEFAULT_EXCEPTION_REPORTER_FILTER = "llmops.core.reporting.UrlPasswordFilter"

SESSION_COOKIE_SECURE = env_bool("LLMOPS_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("LLMOPS_BEHIND_PROXY", False) else None
)
