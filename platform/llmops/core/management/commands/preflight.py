"""``manage.py preflight``: check the database, Redis and the web port before starting anything.

Each failure is one line naming the cause and the fix, and the command exits 1, so ``make run`` stops
before half-starting the platform.
"""

from __future__ import annotations

import socket
from typing import Any

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.utils import OperationalError


def _where_db() -> str:
    db = settings.DATABASES["default"]
    return f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"


class Command(BaseCommand):
    help = "Check that PostgreSQL, Redis and the web port are usable."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--port",
            type=int,
            action="append",
            default=[],
            help="also check that this TCP port is free (repeatable)",
        )

    def handle(self, *args: Any, port: list[int], **options: Any) -> None:
        self._database()
        self._redis()
        for number in port:
            self._port_free(number)
        ports = ", ".join(str(number) for number in port)
        self.stdout.write("preflight: database, redis" + (f" and ports {ports}" if ports else "") + " ok")

    def _database(self) -> None:
        try:
            connection.ensure_connection()
        except OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CommandError(
                f"cannot connect to PostgreSQL at {_where_db()} ({reason}); "
                "check DATABASE_URL, or unset it to use the embedded server (make run starts it)"
            ) from None

    def _redis(self) -> None:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise CommandError(
                f"cannot reach Redis ({exc}); check REDIS_URL, or unset it to use the embedded server"
            ) from None
        finally:
            client.close()

    def _port_free(self, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((settings.LLMOPS_HOST, port))
            except OSError:
                raise CommandError(
                    f"port {port} on {settings.LLMOPS_HOST} is already in use; stop the program using it or "
                    "choose another port (LLMOPS_PORT, LLMOPS_CHAT_MODEL_PORT, LLMOPS_EMBEDDING_MODEL_PORT)"
                ) from None
