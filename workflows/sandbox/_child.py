"""The sandbox child: runs inside ``python -I -S`` with rlimits already applied by the parent.

Protocol: one JSON object on stdin ``{"code", "inputs", "tmp", "uid", "gid"}``; one JSON object on stdout
``{"ok": true, "outputs", "stdout"}`` or ``{"ok": false, "error_type", "error", "stdout"}``.

Order matters: read the request and import every module user code may use (as the launching user, who can
read the interpreter's files), then drop to the unprivileged uid, forbid new processes (RLIMIT_NPROC), install
the audit hook, and only then compile and run user code. This file is passed with ``-c``; it must only use
the standard library.
"""

import base64
import bisect
import collections
import copy
import csv
import datetime
import decimal
import fractions
import functools
import hashlib
import heapq
import html
import io
import itertools
import json
import math
import operator
import os
import random
import resource
import statistics
import string
import sys
import textwrap
import time
import typing
import unicodedata
import urllib.parse
import uuid
import zoneinfo

PRELOADED = (
    base64,
    bisect,
    collections,
    copy,
    csv,
    datetime,
    decimal,
    fractions,
    functools,
    hashlib,
    heapq,
    html,
    itertools,
    math,
    operator,
    random,
    statistics,
    string,
    textwrap,
    time,
    typing,
    unicodedata,
    urllib.parse,
    uuid,
    zoneinfo,
)
BLOCKED_EVENTS = (
    "socket.",
    "subprocess.",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "os.setuid",
    "os.setgid",
    "ctypes.",
    "pty.",
    "winreg.",
    "os.putenv",
    "os.unsetenv",
    "resource.setrlimit",
    "sys.setprofile",
    "sys.settrace",
    "_posixsubprocess.",
    "mmap.__new__",
)
BLOCKED_MODULES = {
    "ctypes",
    "_ctypes",
    "cffi",
    "_posixsubprocess",
    "socket",
    "_socket",
    "ssl",
    "_ssl",
    "select",
    "selectors",
    "asyncio",
    "multiprocessing",
    "_multiprocessing",
    "subprocess",
    "pty",
    "fcntl",
    "mmap",
    "signal",
    "_signal",
    "gc",
}
PATH_EVENTS = {
    "os.listdir": False,
    "os.scandir": False,
    "os.chdir": False,
    "os.mkdir": True,
    "os.remove": True,
    "os.rename": True,
    "os.rmdir": True,
    "os.symlink": True,
    "os.link": True,
    "os.chmod": True,
    "os.chown": True,
    "os.truncate": True,
    "os.utime": True,
    "shutil.rmtree": True,
    "shutil.copyfile": True,
    "shutil.move": True,
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path: str | bytes, roots: tuple[str, ...]) -> bool:
    real = os.path.realpath(os.fsdecode(path))
    return any(real == root or real.startswith(root + os.sep) for root in roots)


def _writes(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)


def make_hook(tmp: str) -> typing.Callable[[str, tuple[typing.Any, ...]], None]:
    stdlib = os.path.realpath(os.path.dirname(os.__file__))
    read_roots, write_roots = (tmp, stdlib), (tmp,)

    def hook(event: str, args: tuple[typing.Any, ...]) -> None:
        if event == "open":
            path = args[0]
            if isinstance(path, int) or path is None:
                return
            writing = _writes(args[1] if len(args) > 1 else None, args[2] if len(args) > 2 else None)
            if not _inside(path, write_roots if writing else read_roots):
                raise PermissionError(f"sandbox: opening {path!r} is not allowed (only the temp dir)")
        elif event in PATH_EVENTS:
            path = args[0] if args and args[0] is not None else "."
            if isinstance(path, (str, bytes)) and not _inside(
                path, write_roots if PATH_EVENTS[event] else read_roots
            ):
                raise PermissionError(f"sandbox: {event} on {path!r} is not allowed")
        elif event == "import" and args[0].split(".")[0] in BLOCKED_MODULES:
            raise PermissionError(f"sandbox: importing {args[0]!r} is not allowed")
        elif event.startswith(BLOCKED_EVENTS):
            raise PermissionError(f"sandbox: {event} is not allowed")

    return hook


def drop_privileges(uid: int | None, gid: int | None) -> None:
    if os.geteuid() == 0 and uid is not None and gid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    # After the uid change: a fork now fails with EAGAIN (RLIMIT_NPROC is per real uid and root ignores it).
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def run(request: dict[str, typing.Any], capture: io.StringIO) -> dict[str, typing.Any]:
    namespace: dict[str, typing.Any] = {"__name__": "__sandbox__", "__builtins__": __builtins__}
    exec(compile(request["code"], "<code>", "exec"), namespace)
    main = namespace.get("main")
    if not callable(main):
        raise NameError("the code must define a function main(...) returning a dict")
    result = main(**request["inputs"])
    if not isinstance(result, dict):
        raise TypeError(f"main() must return a dict, not {type(result).__name__}")
    return {"ok": True, "outputs": result, "stdout": capture.getvalue()[-65536:]}


def respond(payload: dict[str, typing.Any], out: typing.TextIO) -> None:
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        text = json.dumps({"ok": False, "error_type": "TypeError", "error": f"outputs are not JSON: {exc}"})
    out.write(text)
    out.flush()


def main() -> None:
    request = json.loads(sys.stdin.buffer.read())
    tmp = os.path.realpath(request["tmp"])
    out, capture = sys.stdout, io.StringIO()
    drop_privileges(request.get("uid"), request.get("gid"))
    sys.stdout = sys.stderr = capture
    sys.addaudithook(make_hook(tmp))
    try:
        payload = run(request, capture)
    except BaseException as exc:  # user code may raise anything, SystemExit included
        payload = {
            "ok": False,
            "error_type": type(exc).__name__,
            "error": str(exc)[:4000],
            "stdout": capture.getvalue()[-65536:],
        }
    respond(payload, out)


main()
