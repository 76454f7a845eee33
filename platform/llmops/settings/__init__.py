"""Settings, one module per topic; every environment difference comes from ``LLMOPS_*`` variables,
``DATABASE_URL`` and ``REDIS_URL`` (see README's configuration table)."""

from llmops.settings.api import *  # noqa: F403
from llmops.settings.base import *  # noqa: F403
from llmops.settings.celery import *  # noqa: F403
from llmops.settings.channels import *  # noqa: F403
from llmops.settings.database import *  # noqa: F403
from llmops.settings.deployments import *  # noqa: F403
from llmops.settings.engine import *  # noqa: F403
from llmops.settings.evaluations import *  # noqa: F403
from llmops.settings.knowledge import *  # noqa: F403
from llmops.settings.llm import *  # noqa: F403
from llmops.settings.redis import *  # noqa: F403
from llmops.settings.security import *  # noqa: F403
