"""What one embedded server is doing, as ``status`` reports it."""

from __future__ import annotations

from dataclasses import dataclass

from devservices.embedded.ports import LOOPBACK


@dataclass(frozen=True)
class ServiceStatus:
    """What one embedded server is doing, as read from its pid file (no network)."""

    name: str
    phase: str  # "running", "starting", "stopping", "stopped"
    pid: int | None = None
    port: int | None = None
    note: str = ""

    @property
    def running(self) -> bool:
        return self.phase == "running"

    @property
    def alive(self) -> bool:
        return self.phase in ("running", "starting", "stopping")

    def describe(self) -> str:
        if not self.alive:
            return f"{self.name}: stopped" + (f" ({self.note})" if self.note else "")
        where = f" on {LOOPBACK}:{self.port}" if self.port else ""
        return f"{self.name}: {self.phase}{where} (pid {self.pid})"
