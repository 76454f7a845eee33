"""The sandbox child: runs inside ``python -I -S`` with rlimits and namespaces already applied by the parent.

Protocol: one JSON line on stdin ``{"code", "inputs", "tmp", "uid", "gid", "max_files", "max_bytes",
"packages", "preload", "hint"}``; one JSON line on stdout ``{"ok": true, "outputs", "stdout"}`` or ``{"ok":
false, "error_type", "error", "stdout"}``. Before it, while user code runs, each HTTP call of ``requests`` or
``httpx`` is one line ``{"http": {...}}`` on stdout answered by one line on stdin (see :func:`_http_bridge`):
the child has no network; the parent sends the request through its SSRF-guarded client.

Packages: ``packages`` is the read-only package environment, appended to ``sys.path`` (the platform's own
environment never is: the child runs ``-I -S``). The modules user code imports from it (``preload``, found by
the parent in the source) are imported before the lockdown, because no extension module can be loaded after
it; pure-Python submodules can still be imported later (read-only, compiled from source). A module found
nowhere fails with ``hint``, which names the setting that offers packages.

Order matters: read the request and import every module user code may use (as the launching user, who can
read the interpreter's files), take away the interpreter's back doors (fresh copies of builtin modules,
``pidfd_open``, ``mkfifo``...), drop to the sandbox uid, forbid new processes and threads (RLIMIT_NPROC=0),
install the audit hook, and only then compile and run user code. This file is passed with ``-c``; it must only
use the standard library.

The hook is built by :func:`_guard` as one self-contained closure. User code can rebind anything in this
module, in ``sys.modules`` or in ``builtins``, and can read the hook's local values through a traceback's
frames: none of that changes what the hook does, because it looks nothing up at call time. Every value it
uses is a closure cell holding an immutable object or a builtin function, cells cannot be rebound without the
function object, and the function object is referenced only by the interpreter's hook list (``gc`` calls,
crafted code objects and ``marshal.loads`` are refused, since they are the ways to reach or forge it).
"""

import base64
import bisect
import builtins
import collections
import contextlib
import copy
import csv
import datetime
import decimal
import fractions
import functools
import hashlib
import heapq
import html
import importlib
import io
import itertools
import json
import math
import operator
import os
import pathlib
import posix
import random
import re
import resource
import shutil
import statistics
import string
import sys
import tempfile
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
    pathlib,
    random,
    re,
    statistics,
    string,
    tempfile,
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
    "os.symlink",
    "os.putenv",
    "os.unsetenv",
    "ctypes.",
    "pty.",
    "fcntl.",
    "mmap.",
    "resource.setrlimit",
    "resource.prlimit",
    "sys.setprofile",
    "sys.settrace",
    "sys.addaudithook",
    "_posixsubprocess.",
    # the ways to reach the hook function or to forge bytecode that could overwrite it in memory
    "gc.",
    "code.__new__",
    "function.__new__",
    "marshal.load",
    # C modules that open files or sockets without an "open" or "socket" event
    "sqlite3.",
    "syslog.",
    "winreg.",
)
BLOCKED_MODULES = (
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
    "_posixshmem",
    "subprocess",
    "pty",
    "fcntl",
    "mmap",
    "signal",
    "gc",
    "sqlite3",
    "_sqlite3",
    "dbm",
    "_dbm",
    "_gdbm",
    "readline",
    "syslog",
    "_curses",
    "_tkinter",
    "faulthandler",
    "_tracemalloc",
)
# Extension and builtin modules legitimate code may import lazily: loaded now, because no new extension module
# can be loaded once user code runs (see _close_back_doors).
EXTENSIONS = (
    "_ast",
    "_tokenize",
    "_symtable",
    "_locale",
    "errno",
    "atexit",
    "_pickle",
    "_elementtree",
    "pyexpat",
    "array",
    "binascii",
    "zlib",
    "_bz2",
    "_lzma",
    "cmath",
    "_queue",
    "_opcode",
    "_struct",
    "_multibytecodec",
    "_codecs_cn",
    "_codecs_hk",
    "_codecs_iso2022",
    "_codecs_jp",
    "_codecs_kr",
    "_codecs_tw",
    "pwd",
    "grp",
    "_md5",
    "_sha1",
    "_sha256",
    "_sha3",
    "_sha512",
    "_blake2",
    "_hashlib",
)
# (event, positions of path arguments, writes?, positions of dir_fd arguments), as CPython 3.11 raises them.
PATH_EVENTS = (
    ("os.listdir", (0,), False, ()),
    ("os.scandir", (0,), False, ()),
    ("os.listxattr", (0,), False, ()),
    ("os.getxattr", (0,), False, ()),
    ("os.chdir", (0,), True, ()),
    ("os.mkdir", (0,), True, (2,)),
    ("os.remove", (0,), True, (1,)),
    ("os.rmdir", (0,), True, (1,)),
    ("os.rename", (0, 1), True, (2, 3)),
    ("os.link", (0, 1), True, (2, 3)),
    ("os.chmod", (0,), True, (2,)),
    ("os.chown", (0,), True, (3,)),
    ("os.utime", (0,), True, (3,)),
    ("os.truncate", (0,), True, ()),
    ("os.setxattr", (0,), True, ()),
    ("os.removexattr", (0,), True, ()),
)
# Unaudited functions that reach outside the process or the temp dir; removed from every module holding them.
_UNAUDITED_OS = (
    "mkfifo",
    "mknod",
    "memfd_create",
    "pidfd_open",
    "setpriority",
    "chroot",
    "sched_setaffinity",
)
REMOVED = {
    "posix": _UNAUDITED_OS,
    "os": _UNAUDITED_OS,
    "_signal": ("pidfd_send_signal", "pthread_kill", "setitimer"),
    "signal": ("pidfd_send_signal", "pthread_kill", "setitimer"),
}


def _guard(
    tmp: str, stdlib: str, max_files: int, max_bytes: int, packages: str = "/nonexistent/"
) -> typing.Callable[[str, tuple[object, ...]], None]:
    """Build the audit hook for a sandbox whose temp dir (and cwd) is ``tmp``.

    Reads are allowed under ``tmp``, ``stdlib`` (not its ``site-packages``) and the package environment
    ``packages``, writes under ``tmp`` only; paths are resolved here, with
    symlinks followed by ``lstat``/``readlink``, against the real cwd. Directories cannot be opened as file
    descriptors, so no ``dir_fd`` or fd-based directory call can start anywhere but the cwd; the fd forms of
    path calls are refused outright. Creating a file or directory is refused once the temp dir holds
    ``max_files`` entries or ``max_bytes`` bytes.
    """
    lstat, stat, readlink, getcwd, scandir = (
        posix.lstat,
        posix.stat,
        posix.readlink,
        posix.getcwd,
        posix.scandir,
    )
    entry_type, entry_path = posix.DirEntry, posix.DirEntry.__fspath__
    sjoin, ssplit, sstarts, bjoin, bdecode = str.join, str.split, str.startswith, bytes.join, bytes.decode
    kind, subclass, STR, BYTES, INT, Deny, OSErr = type, issubclass, str, bytes, int, PermissionError, OSError
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    creates, no_file = os.O_CREAT, os.O_DIRECTORY | getattr(os, "O_PATH", 0)
    ifmt, iflnk, ifdir = 0o170000, 0o120000, 0o040000
    tmp_under, stdlib_under = tmp + "/", stdlib + "/"
    # Installed packages may live under the stdlib folder (a pyenv or source build): not the standard library.
    packages_under = (stdlib + "/site-packages/", stdlib + "/dist-packages/")
    packages_dirs = (stdlib + "/site-packages", stdlib + "/dist-packages")
    offered, offered_under = packages, packages + "/"
    blocked_events, blocked_modules = tuple(BLOCKED_EVENTS), frozenset(BLOCKED_MODULES)
    path_events, path_table = frozenset(e[0] for e in PATH_EVENTS), tuple(PATH_EVENTS)

    def hook(event: str, args: tuple[typing.Any, ...]) -> None:
        if event == "open":
            raw, mode, flags = args
            if kind(raw) is INT:
                return  # wraps a descriptor that passed this hook when it was opened
            if kind(mode) is STR:
                writing = "w" in mode or "a" in mode or "x" in mode or "+" in mode
                creating = "w" in mode or "a" in mode or "x" in mode
                flags = 0
            else:
                writing, creating = bool(flags & writes), bool(flags & creates)
            todo: list[tuple[typing.Any, bool]] = [(raw, writing)]
            dirfds: list[typing.Any] = []
        elif event in path_events:
            for row in path_table:
                if row[0] == event:
                    break
            _, positions, table_writing, dirfd_positions = row
            todo = [(args[i], table_writing) for i in positions]
            dirfds = [args[i] for i in dirfd_positions]
            creating, flags = event == "os.mkdir", 0
        elif event == "import":
            module = sjoin("", (args[0],))
            for part in ssplit(module, "."):
                if part in blocked_modules:
                    raise Deny(f"sandbox: importing {module!r} is not allowed")
            return
        elif sstarts(event, blocked_events):
            raise Deny(f"sandbox: {event} is not allowed")
        else:
            return
        for dirfd in dirfds:
            if dirfd is not None and dirfd >= 0:
                raise Deny(f"sandbox: {event} relative to a directory descriptor is not allowed")
        for raw, writing in todo:
            # Exact str only: a subclass or a PathLike could answer differently to the C call after this check.
            t = kind(raw)
            if raw is None:
                raw = "."
            elif t is INT:
                if event == "os.truncate":
                    continue  # ftruncate needs a descriptor opened for writing, which only the temp dir gives
                raise Deny(f"sandbox: {event} on a file descriptor is not allowed")
            elif t is entry_type:
                raw = entry_path(raw)
            elif t is not STR and t is not BYTES:
                if subclass(t, STR):
                    raw = sjoin("", (raw,))
                elif subclass(t, BYTES):
                    raw = bjoin(b"", (raw,))
                else:
                    raise Deny(f"sandbox: {event} needs a str or bytes path, not {t.__name__}")
            path = bdecode(raw, "utf-8", "surrogateescape") if kind(raw) is BYTES else raw
            if not sstarts(path, "/"):
                path = getcwd() + "/" + path
            parts: list[str] = []
            pending, hops, exists = ssplit(path, "/")[::-1], 0, True
            while pending:
                part = pending.pop()
                if part == "" or part == ".":
                    continue
                if part == "..":
                    if parts:
                        parts.pop()
                    continue
                parts.append(part)
                if not exists:
                    continue
                here = "/" + sjoin("/", parts)
                try:
                    st_mode = lstat(here).st_mode
                except OSErr:
                    exists = False
                    continue
                if st_mode & ifmt == iflnk:
                    hops += 1
                    if hops > 40:
                        raise Deny(f"sandbox: too many symbolic links in {path!r}")
                    target = readlink(here)
                    parts.pop()
                    if sstarts(target, "/"):
                        parts = []
                    pending += ssplit(target, "/")[::-1]
            real = "/" + sjoin("/", parts)
            inside = real == tmp or sstarts(real, tmp_under)
            in_stdlib = real == stdlib or (
                sstarts(real, stdlib_under)
                and not sstarts(real, packages_under)
                and real not in packages_dirs
            )
            in_stdlib = in_stdlib or (not writing and (real == offered or sstarts(real, offered_under)))
            if not inside and (writing or not in_stdlib):
                raise Deny(f"sandbox: {event} on {path!r} is not allowed (only the temp dir)")
            if event != "open":
                continue
            try:
                found = stat(real).st_mode
            except OSErr:
                found = 0
            if flags & no_file or found & ifmt == ifdir:
                raise Deny(f"sandbox: opening the directory {path!r} is not allowed")
            creating = creating and not found
        if creating:
            # Counted from what is in the temp dir now (a file opened for writing can still grow by
            # RLIMIT_FSIZE; a tmpfs, where the platform allows one, caps the total in the kernel).
            count, total, dirs = 0, 0, [tmp]
            while dirs:
                with scandir(dirs.pop()) as entries:
                    for entry in entries:
                        count += 1
                        if entry.is_dir(follow_symlinks=False):
                            dirs.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_size
            if count >= max_files:
                raise Deny(f"sandbox: the temp dir holds {count} files, the limit is {max_files}")
            if total >= max_bytes:
                raise Deny(f"sandbox: the temp dir holds {total} bytes, the limit is {max_bytes}")

    return hook


def _strpaths(function: typing.Callable[..., typing.Any]) -> typing.Callable[..., typing.Any]:
    """Let ``pathlib`` and other PathLike users keep working: convert to str once, before the hook sees it."""

    @functools.wraps(function)
    def call(*args: typing.Any, **kwargs: typing.Any) -> typing.Any:
        args = tuple(os.fspath(a) if isinstance(a, os.PathLike) else a for a in args)
        for key in ("src", "dst", "path"):
            if isinstance(kwargs.get(key), os.PathLike):
                kwargs[key] = os.fspath(kwargs[key])
        return function(*args, **kwargs)

    return call


def _close_back_doors() -> None:
    """Remove what the hook cannot see: unaudited process/filesystem calls and fresh module copies."""
    for module_name, names in REMOVED.items():
        module = sys.modules.get(module_name)
        for name in names:
            function = getattr(module, name, None)
            if function is not None:
                delattr(module, name)
                for registry in (os.supports_dir_fd, os.supports_fd, os.supports_follow_symlinks):
                    registry.discard(function)
                os.supports_effective_ids.discard(function)
    for name in EXTENSIONS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)

    # No wrapper that keeps the originals: a Python function exposes what it holds (``__closure__``), and a
    # fresh copy of posix, _signal or _imp would bring the removed functions back without an "import" event.
    def refuse(spec: typing.Any, *rest: typing.Any) -> typing.NoReturn:
        raise ImportError(f"sandbox: loading the extension module {spec.name!r} is not allowed")

    _imp: typing.Any = sys.modules["_imp"]
    _imp.create_builtin = _imp.create_dynamic = refuse
    for name in ("open", "mkdir", "remove", "unlink", "rmdir", "rename", "replace", "listdir", "scandir"):
        setattr(os, name, _strpaths(getattr(os, name)))
    for name in ("chmod", "utime", "truncate", "link", "chdir", "makedirs", "removedirs"):
        setattr(os, name, _strpaths(getattr(os, name)))
    io.open = builtins.open = _strpaths(io.open)
    # shutil.rmtree's fd-based variant opens directories, which the hook refuses; the path-based one is safe
    # here because code can neither create symlinks nor start threads.
    shutil._use_fd_functions = False  # type: ignore[attr-defined]
    # Imports after this point compile from source: the hook refuses marshal.loads.
    sys.dont_write_bytecode = True
    sys.pycache_prefix = os.path.join(tempfile.gettempdir(), ".no-pycache")


def drop_privileges(uid: int | None, gid: int | None) -> None:
    """Become the sandbox uid (when started as root) and forbid new processes and threads."""
    if os.geteuid() == 0 and uid is not None and gid is not None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    # After the uid change: a fork or a thread now fails with EAGAIN (RLIMIT_NPROC is per real uid and root
    # ignores it).
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


# Modules an offered package needs imported with it (pyplot loads its backend lazily, an extension module).
# Response headers that described the wire encoding: the parent hands over the decoded body.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
# Never preloaded (the preload runs before the uid drop and the hook): modules that act when imported.
ACTING_MODULES = frozenset(
    {
        "__main__",
        "antigravity",
        "this",
        "__hello__",
        "__phello__",
        "idlelib",
        "turtledemo",
        "tkinter",
        "turtle",
        "webbrowser",
        "ensurepip",
        "venv",
        "pip",
        "site",
        "sitecustomize",
        "usercustomize",
    }
)
# (certifi finds its bundle through importlib.resources, which imports its readers lazily.)
PRELOAD_WITH = {
    "matplotlib": ("matplotlib.pyplot", "matplotlib.backends.backend_agg"),
    "httpx": ("httpcore", "importlib.readers"),
    "requests": ("importlib.readers",),
}


def offer_packages(packages: str | None, preload: list[str], index: dict[str, list[str]], hint: str) -> None:
    """Put the package environment on ``sys.path`` and import what user code will use (before the lockdown):
    the modules it imports (offered or standard: the interpreter's own files may be unreadable after the uid
    drop, an interpreter under /root for instance), then the standard modules that every package now loaded imports somewhere in its
    sources (``index``), since it may import them lazily once the interpreter's files are out of reach."""
    if packages:
        sys.path.append(packages)
    sys.meta_path.append(_Unavailable(hint))  # asked last: only for modules no other finder has
    for name in preload:
        _preload(name, *PRELOAD_WITH.get(name.split(".")[0], ()))
    if preload:
        loaded = {name.split(".")[0] for name in sys.modules}
        for top in sorted(loaded & set(index)):
            _preload(*index[top])


def _preload(*modules: str) -> None:
    for module in modules:
        parts = module.split(".")
        if module in sys.modules or any(part in BLOCKED_MODULES or part in ACTING_MODULES for part in parts):
            continue
        with contextlib.suppress(Exception):  # user code meets the same error, with its own traceback
            importlib.import_module(module)


class _Unavailable:
    """The last meta-path finder: a module nothing provides fails naming the package and the setting."""

    def __init__(self, hint: str) -> None:
        self.hint = hint

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        top = name.split(".")[0]
        if path is None and top not in sys.stdlib_module_names:
            raise ModuleNotFoundError(
                f"No module named {name!r}: the package {top!r} is not available in code nodes ({self.hint})",
                name=name,
            )


def _http_bridge(
    inbox: typing.BinaryIO, outbox: typing.TextIO
) -> typing.Callable[[str, str, list[tuple[str, str]], bytes, float], dict[str, typing.Any]]:
    """One HTTP exchange with the parent: the request as a line on stdout, the answer as a line on stdin."""

    def send(
        method: str, url: str, headers: list[tuple[str, str]], body: bytes, timeout: float
    ) -> dict[str, typing.Any]:
        request = {
            "method": method,
            "url": url,
            "headers": headers,
            "body": base64.b64encode(body).decode(),
            "timeout": timeout,
        }
        outbox.write(json.dumps({"http": request}) + "\n")
        outbox.flush()
        answer = json.loads(inbox.readline() or b'{"error": "the sandbox closed the HTTP channel"}')
        if "error" not in answer:
            answer["body"] = base64.b64decode(answer["body"])
            answer["headers"] = [(k, v) for k, v in answer["headers"] if k.lower() not in _WIRE_HEADERS]
        return typing.cast(dict[str, typing.Any], answer)

    return send


def route_http(send: typing.Callable[..., dict[str, typing.Any]]) -> None:
    """Make ``requests`` and ``httpx`` (where preloaded) send through the parent instead of sockets."""
    requests = sys.modules.get("requests.adapters")
    if requests is not None:
        _route_requests(requests, send)
    httpx = sys.modules.get("httpx")
    if httpx is not None:
        _route_httpx(httpx, send)


def _timeout_seconds(timeout: typing.Any) -> float:
    if isinstance(timeout, tuple):
        timeout = max((t for t in timeout if t is not None), default=None)
    return float(timeout) if isinstance(timeout, int | float) else 30.0


def _route_requests(adapters: typing.Any, send: typing.Callable[..., dict[str, typing.Any]]) -> None:
    models, exceptions, structures = (
        sys.modules[f"requests.{n}"] for n in ("models", "exceptions", "structures")
    )

    def adapter_send(
        self: typing.Any, request: typing.Any, timeout: typing.Any = None, **_: typing.Any
    ) -> typing.Any:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        if not isinstance(body, bytes):
            body = b"".join(body)  # a generator or file-like upload
        answer = send(
            request.method, request.url, list(request.headers.items()), body, _timeout_seconds(timeout)
        )
        if "error" in answer:
            raise exceptions.ConnectionError(answer["error"], request=request)
        response = models.Response()
        response.status_code = answer["status"]
        response.headers = structures.CaseInsensitiveDict(answer["headers"])
        response._content = answer["body"]
        response.url = answer.get("url") or request.url
        response.encoding = adapters.get_encoding_from_headers(response.headers)
        response.reason = ""
        response.request = request
        response.connection = self
        return response

    adapters.HTTPAdapter.send = adapter_send


def _route_httpx(httpx: typing.Any, send: typing.Callable[..., dict[str, typing.Any]]) -> None:
    def handle_request(self: typing.Any, request: typing.Any) -> typing.Any:
        timeout = request.extensions.get("timeout", {}).get("read")
        answer = send(
            request.method,
            str(request.url),
            list(request.headers.items()),
            request.read(),
            _timeout_seconds(timeout),
        )
        if "error" in answer:
            raise httpx.ConnectError(answer["error"], request=request)
        return httpx.Response(
            answer["status"], headers=answer["headers"], content=answer["body"], request=request
        )

    httpx.HTTPTransport.handle_request = handle_request


def run(request: dict[str, typing.Any], capture: io.StringIO) -> dict[str, typing.Any]:
    """Compile and run the user code, returning the response payload."""
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
    """Write the payload as JSON (outputs that are not JSON become a TypeError payload)."""
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        text = json.dumps({"ok": False, "error_type": "TypeError", "error": f"outputs are not JSON: {exc}"})
    out.write(text + "\n")
    out.flush()


def main() -> None:
    """Read the request, lock the process down, run the code, answer on the real stdout."""
    inbox = sys.stdin.buffer
    request = json.loads(inbox.readline())
    tmp = os.path.realpath(request["tmp"])
    stdlib = os.path.realpath(os.path.dirname(os.__file__))
    packages = os.path.realpath(request["packages"]) if request.get("packages") else "/nonexistent/"
    out, capture, leave = sys.stdout, io.StringIO(), posix._exit
    hook = _guard(tmp, stdlib, int(request["max_files"]), int(request["max_bytes"]), packages)
    offer_packages(
        request.get("packages"),
        list(request.get("preload") or ()),
        dict(request.get("index") or {}),
        str(request.get("hint", "")),
    )
    route_http(_http_bridge(inbox, out))
    # Preloaded packages may have imported socket, subprocess or ctypes for themselves: those stay in
    # sys.modules (their lazy imports need them), and what they would do is refused by their audit events.
    _close_back_doors()
    drop_privileges(request.get("uid"), request.get("gid"))
    sys.stdout = sys.stderr = capture
    sys.addaudithook(hook)
    del hook
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
    # No interpreter shutdown: atexit handlers and __del__ methods of user objects would run while CPython
    # clears the audit hooks.
    leave(0)


main()
