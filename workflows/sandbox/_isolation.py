"""Kernel namespaces for the sandbox child, entered between fork and exec (Python 3.11 has no ``os.unshare``).

In the forked child, before the interpreter starts:

- ``unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC)``, plus ``CLONE_NEWUSER`` when the worker is not root
  (an unprivileged user namespace maps the worker's own uid and gid and nothing else): a network namespace
  with only a loopback device that is down, so no address is reachable, 127.0.0.1 included;
- a private mount tree with a size- and inode-capped tmpfs over the temp dir (the cap is the kernel's, not
  the audit hook's) and empty read-only tmpfs over ``/proc`` and ``/dev/shm``, so no ``/proc/<pid>/environ``
  or ``/proc/<pid>/mem`` of the worker or of another sandbox is visible whatever the child manages to call.

ctypes lives only here, in the trusted parent; the child never imports it. Whether the kernel allows all this
(containers often refuse ``unshare``) is probed once per process with a throwaway child; where it does not, the
sandbox falls back to the uid drop, rlimits and the audit hook, and says so once in the log.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REC, MS_PRIVATE = 0x4000, 0x40000

_libc = ctypes.CDLL(None, use_errno=True)
_probe_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Isolation:
    """How to isolate a sandbox child: namespaces when ``namespaces`` is true, else only ``reason`` why not."""

    namespaces: bool
    reason: str
    owner_uid: int
    owner_gid: int
    tmp_bytes: int
    tmp_files: int

    def preexec(self, tmp: str) -> Callable[[], None] | None:
        """The function to run in the forked child before exec (None where namespaces are unavailable)."""
        if not self.namespaces:
            return None
        return functools.partial(_enter, tmp, self.owner_uid, self.owner_gid, self.tmp_bytes, self.tmp_files)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _enter(tmp: str, uid: int, gid: int, tmp_bytes: int, tmp_files: int) -> None:
    """Runs in the forked child (single-threaded, before exec): only syscalls, no locks, no imports."""
    root = os.geteuid() == 0
    outer_uid, outer_gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | (0 if root else CLONE_NEWUSER)
    _check(_libc.unshare(flags), "unshare")
    if not root:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{outer_uid} {outer_uid} 1")
        _write("/proc/self/gid_map", f"{outer_gid} {outer_gid} 1")
        uid, gid = outer_uid, outer_gid
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    options = f"size={tmp_bytes},nr_inodes={tmp_files + 1},mode=0700,uid={uid},gid={gid}"
    _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, options)
    os.chdir(tmp)  # the cwd still pointed at the directory under the new mount
    hidden, empty = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=2,mode=0555"
    _mount("tmpfs", "/proc", "tmpfs", hidden, empty)
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", hidden, empty)  # shm_open/sem_open create files there unaudited


@functools.cache
def _probe(python: str) -> str:
    """Empty string where a child can enter the namespaces, else the kernel's reason."""
    tmp = tempfile.mkdtemp(prefix="wf-sandbox-probe-")
    report = os.path.join(tmp, "..", os.path.basename(tmp) + ".reason")

    def enter() -> None:
        try:
            _enter(tmp, os.geteuid(), os.getegid(), 1024 * 1024, 16)
        except OSError as exc:
            _write_reason(report, str(exc))
            raise

    try:
        subprocess.run([python, "-I", "-S", "-c", "pass"], preexec_fn=enter, check=True, timeout=30, env={})
        return ""
    except (subprocess.SubprocessError, OSError) as exc:
        try:
            with open(report) as handle:
                return handle.read() or str(exc)
        except OSError:
            return str(exc)
    finally:
        for leftover in (report,):
            if os.path.exists(leftover):
                os.unlink(leftover)
        os.rmdir(tmp)


def _write_reason(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def isolation_for(
    *, uid: int, gid: int, tmp_bytes: int, tmp_files: int, enabled: bool = True, python: str | None = None
) -> Isolation:
    """The isolation this process can give sandbox children (probed once, logged once when unavailable)."""
    if not enabled or not sys.platform.startswith("linux"):
        return Isolation(False, "disabled", uid, gid, tmp_bytes, tmp_files)
    with _probe_lock:
        reason = _probe(python or os.path.realpath(sys.executable))
    if reason:
        _log_fallback_once(reason)
    return Isolation(not reason, reason, uid, gid, tmp_bytes, tmp_files)


@functools.cache
def _log_fallback_once(reason: str) -> None:
    logger.warning(
        "code sandbox: this platform refuses private network/mount namespaces (%s); code runs with the "
        "uid drop, rlimits and the audit hook only",
        reason,
    )


__all__ = ["Isolation", "isolation_for"]
