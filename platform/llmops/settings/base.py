"""Core Django settings: apps, middleware, templates, static files, logging."""

from __future__ import annotations

import os
from pathlib import Path

import django_stubs_ext

from llmops.settings.env import env_bool, env_choice, env_list, env_str

# Lets the classes django-stubs types as generics (ModelAdmin[Model], QuerySet[Model]...) be subscripted at run
# time too, as class bases.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parents[3]
# Generated development secrets and static files live in the state folder; the embedded development servers
# (devservices.embedded) keep their data there too and find it from the same variable.
_STATE_DIR_SETTING = (env_str("LLMOPS_STATE_DIR") or "").strip()
STATE_DIR = (
    Path(os.path.abspath(os.path.expanduser(_STATE_DIR_SETTING)))
    if _STATE_DIR_SETTING
    else BASE_DIR / ".llmops"
)

LLMOPS_MODE = env_choice("LLMOPS_MODE", "development", ("development", "production"))
PRODUCTION = LLMOPS_MODE == "production"
DEBUG = env_bool("LLMOPS_DEBUG", not PRODUCTION)

LLMOPS_HOST = env_str("LLMOPS_HOST", "127.0.0.1") or "127.0.0.1"
ALLOWED_HOSTS = env_list("LLMOPS_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("LLMOPS_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "llmops.core",
    "llmops.accounts",
    "llmops.providers",
    "llmops.usage",
    "llmops.prompts",
    "llmops.studio",
    "llmops.chains",
    "llmops.runs",
    "llmops.deployments",
    "llmops.knowledge",
    "llmops.evaluations",
    "llmops.tools",
]

MIDDLEWARE = [
    "llmops.core.middleware.RequestBodyLimitMiddleware",  # first: refuses oversized bodies before anything
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "llmops.core.middleware.SyncMiddlewareChain",  # last: the chain runs in one thread (see its docstring)
]

ROOT_URLCONF = "llmops.urls"
WSGI_APPLICATION = "llmops.wsgi.application"
ASGI_APPLICATION = "llmops.asgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = STATE_DIR / "static"
# The console's production build (`frontend/dist`, built by `make run`) is served as /static/console/...; its
# index.html answers every console route (core.views.ConsoleView).
CONSOLE_DIST = Path(env_str("LLMOPS_CONSOLE_DIST") or BASE_DIR / "frontend" / "dist")
STATICFILES_DIRS = [("console", CONSOLE_DIST)] if CONSOLE_DIST.is_dir() else []
# WhiteNoise serves static files from the ASGI app itself; in development straight from the apps' folders,
# so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request when it is missing
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOG_LEVEL = env_choice("LLMOPS_LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
