"""The code sandbox against an attacker: every escape route ends in a failed run, never in a leak.

Each attack is written as hostile user code would be: it first tries to disarm the audit hook (rebinding the
child's globals, builtins or stdlib functions the hook used to call, reaching the hook through ``gc``, frames
or ``func.__code__``, lying ``__fspath__`` objects, fd-relative paths) and then goes for a secret outside the
temp dir, ``/etc/passwd``, the parent's environment or a TCP listener the test opens on 127.0.0.1. The kernel
layers (own uid, network and mount namespaces, tmpfs caps) are tested on their own with the hook absent.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.workflows._helpers import failure, run_single
from workflows import Ports, SandboxLimits
from workflows.sandbox import SubprocessSandbox
from workflows.sandbox._isolation import Isolation, isolation_for

SANDBOX = SubprocessSandbox()
LIMITS = SandboxLimits(wall_seconds=10, cpu_seconds=5)
ROOT = os.geteuid() == 0


@pytest.fixture(params=["auto", "off"], ids=["namespaces", "hook-only"])
def sandbox(request: pytest.FixtureRequest) -> SubprocessSandbox:
    """The sandbox with kernel namespaces (where this machine allows them) and without (the fallback)."""
    return SubprocessSandbox(namespaces=request.param, tmp_bytes=8 * 1024 * 1024, tmp_files=16)


@pytest.fixture
def secret() -> Iterator[tuple[str, str]]:
    """A world-readable file right next to the sandbox temp dirs: only the sandbox may keep code out."""
    token = secrets.token_hex(16)
    path = Path(tempfile.gettempdir()) / f"llmops-secret-{secrets.token_hex(8)}.txt"
    path.write_text(token)
    path.chmod(0o644)
    yield str(path), token
    path.unlink(missing_ok=True)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1; the test checks afterwards that nobody connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def nobody_connected(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


async def attack(source: str, sandbox: SubprocessSandbox = SANDBOX, **inputs: Any) -> tuple[bool, str]:
    """Run hostile code; return (ok, everything it managed to send back)."""
    result = await sandbox.run(source, {"x": None, **inputs}, LIMITS)
    return result.ok, f"{result.outputs} {result.stdout} {result.error_type} {result.error}"


# Each disarm snippet runs first; then the payload reads the secret file named by ``path``.
DISARM = {
    "rebind __main__ globals": (
        "import sys\nm = sys.modules['__main__']\n"
        "for name in ('BLOCKED_EVENTS', 'PATH_EVENTS', 'BLOCKED_MODULES'):\n"
        "    try:\n        setattr(m, name, type(getattr(m, name))())\n    except Exception:\n        pass\n"
        "m._inside = lambda *a: True\nm._writes = lambda *a: False\n"
    ),
    "rebind os.path.realpath": "import os, posixpath\nos.path.realpath = posixpath.realpath = lambda p, **k: TMP\n",
    "rebind builtins": "import builtins\nbuiltins.any = builtins.all = lambda it: True\n",
    "swap the checker's __code__": (
        "import sys\nm = sys.modules['__main__']\n"
        "for f in [v for k, v in vars(m).items() if k.startswith('_') and hasattr(v, '__code__')]:\n"
        "    try:\n        f.__code__ = (lambda *a, **k: True).__code__\n    except Exception:\n        pass\n"
    ),
    "gc to the hook's closure": (
        "import _imp, sys\nmach = sys.modules['_frozen_importlib']\n"
        "gc = _imp.create_builtin(mach.ModuleSpec('gc', None))\n"
        "for o in gc.get_objects():\n"
        "    if type(o).__name__ == 'function' and o.__closure__:\n"
        "        for cell in o.__closure__:\n"
        "            try:\n                v = cell.cell_contents\n            except ValueError:\n"
        "                continue\n"
        "            if isinstance(v, tuple) and v and all(isinstance(s, str) for s in v):\n"
        "                cell.cell_contents = ('',)\n"
        "            elif isinstance(v, (set, frozenset, dict)):\n"
        "                cell.cell_contents = type(v)()\n"
    ),
    "frames of a refused call": (
        "import sys\ntry:\n    open('/etc/shadow')\nexcept Exception as e:\n    tb = e.__traceback__\n"
        "frames = []\nwhile tb:\n    frames.append(tb.tb_frame)\n    tb = tb.tb_next\n"
        "f = sys._getframe()\nwhile f:\n    frames.append(f)\n    f = f.f_back\n"
        "for fr in frames:\n    for scope in (fr.f_locals, fr.f_globals):\n"
        "        for k, v in list(scope.items()):\n"
        "            if isinstance(v, (set, dict)) and k.isupper():\n                v.clear()\n"
        "            if isinstance(v, tuple) and k.isupper():\n                scope[k] = ()\n"
    ),
}


@pytest.mark.parametrize("disarm", DISARM.values(), ids=DISARM.keys())
async def test_disarming_the_hook_does_not_open_files_outside_the_temp_dir(
    disarm: str, secret: tuple[str, str], sandbox: SubprocessSandbox
) -> None:
    # given code that tries to disarm the hook, then reads a world-readable file outside its temp dir
    source = (
        "import os\nTMP = os.getcwd()\n" + disarm + "def main(x, path):\n"
        "    return {'secret': open(path).read(), 'passwd': open('/etc/passwd').read()}\n"
    )
    # when
    ok, seen = await attack(source, sandbox, path=secret[0])
    # then
    assert not ok and secret[1] not in seen and "root:" not in seen


@pytest.mark.parametrize("disarm", DISARM.values(), ids=DISARM.keys())
async def test_disarming_the_hook_does_not_reach_the_network(disarm: str, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    source = (
        "import os\nTMP = os.getcwd()\n" + disarm + "def main(x, port):\n"
        "    s = __import__('_socket').socket()\n    s.connect(('127.0.0.1', port))\n"
        "    return {'connected': True}\n"
    )
    ok, seen = await attack(source, port=port)
    assert not ok and "connected" not in seen
    assert nobody_connected(listener)


FD_ATTACKS = {
    "os.open with dir_fd after chdir": (
        "import os\ndef main(x, name):\n    top = os.open('.', os.O_RDONLY)\n"
        "    os.mkdir('sub')\n    os.chdir('sub')\n"
        "    fd = os.open('../' + name, os.O_RDONLY, dir_fd=top)\n"
        "    return {'secret': os.read(fd, 100).decode()}\n"
    ),
    "os.listdir of an fd outside": (
        "import os\ndef main(x, name):\n    top = os.open('.', os.O_RDONLY)\n"
        "    os.mkdir('sub')\n    os.chdir('sub')\n"
        "    up = os.open('..', os.O_RDONLY, dir_fd=top)\n    return {'names': os.listdir(up)}\n"
    ),
    "os.scandir of an fd outside": (
        "import os\ndef main(x, name):\n    os.mkdir('sub')\n    top = os.open('.', os.O_RDONLY)\n"
        "    os.chdir('sub')\n    up = os.open('..', os.O_RDONLY, dir_fd=top)\n"
        "    return {'names': [e.name for e in os.scandir(up)]}\n"
    ),
    "os.fchdir to an fd outside": (
        "import os\ndef main(x, name):\n    os.mkdir('sub')\n    top = os.open('.', os.O_RDONLY)\n"
        "    os.chdir('sub')\n    up = os.open('..', os.O_RDONLY, dir_fd=top)\n    os.fchdir(up)\n"
        "    return {'names': os.listdir('.'), 'secret': open(name).read()}\n"
    ),
    "__fspath__ that changes its answer": (
        "import os\nclass P:\n    calls = 0\n    def __init__(self, evil):\n        self.evil = evil\n"
        "    def __fspath__(self):\n        P.calls += 1\n"
        "        return self.evil if P.calls == 1 else 'harmless.txt'\n"
        "def main(x, name):\n    open('harmless.txt', 'w').close()\n"
        "    return {'secret': __import__('sys').modules['_io'].FileIO(P('../' + name)).read().decode()}\n"
    ),
    "symlink out of the temp dir": (
        "import os\ndef main(x, name):\n    os.makedirs('a/b')\n    os.chdir('a/b')\n"
        "    os.symlink('../' + name, os.path.dirname(os.path.dirname(os.getcwd())) + '/l')\n"
        "    os.chdir('../..')\n    return {'secret': open('l').read()}\n"
    ),
    "posix and _io directly": (
        "import sys\ndef main(x, name):\n    posix = sys.modules['posix']\n"
        "    io = sys.modules['_io']\n"
        "    fd = posix.open('/tmp/' + name, posix.O_RDONLY)\n"
        "    return {'secret': io.FileIO(fd).read().decode()}\n"
    ),
    "/proc/self/root": "def main(x, name):\n    return {'secret': open('/proc/self/root/tmp/' + name).read()}\n",
    "/proc/self/cwd": "def main(x, name):\n    return {'secret': open('/proc/self/cwd/../' + name).read()}\n",
}


@pytest.mark.parametrize("source", FD_ATTACKS.values(), ids=FD_ATTACKS.keys())
async def test_fd_and_path_tricks_stay_inside_the_temp_dir(
    source: str, secret: tuple[str, str], sandbox: SubprocessSandbox
) -> None:
    name = os.path.basename(secret[0])
    result = await sandbox.run(source, {"x": None, "name": name}, LIMITS)
    assert not result.ok and result.error_type == "PermissionError", result
    assert secret[1] not in str(result) and name not in str(result.outputs) + result.stdout


async def test_the_parents_environment_is_out_of_reach() -> None:
    source = (
        "import os\ndef main(x):\n    out = {}\n"
        "    for path in ('/proc/%d/environ' % os.getppid(), '/proc/self/environ', '/proc/1/environ'):\n"
        "        try:\n            out[path] = open(path, 'rb').read().decode(errors='replace')\n"
        "        except Exception as exc:\n            out[path] = type(exc).__name__\n"
        "    return {'result': out}\n"
    )
    result = await SANDBOX.run(source, {"x": None}, LIMITS)
    assert result.ok
    assert all(
        value in ("PermissionError", "FileNotFoundError") for value in result.outputs["result"].values()
    )


async def test_installed_packages_under_the_stdlib_folder_are_out_of_reach(
    sandbox: SubprocessSandbox,
) -> None:
    # given an interpreter (pyenv, a source build) whose site-packages lies inside its stdlib folder
    probe = await SANDBOX.run(
        "import os\ndef main(x):\n    return {'d': os.path.dirname(os.__file__)}\n", {"x": None}, LIMITS
    )
    packages = os.path.join(probe.outputs["d"], "site-packages")
    if not os.path.isdir(packages):
        pytest.skip(f"this interpreter keeps no site-packages under its stdlib folder ({probe.outputs['d']})")
    # when code lists it and reads a file in it (the stdlib itself stays readable: json imports)
    source = (
        "import os, json\ndef main(x):\n    out = {}\n"
        "    for what, call in (('list', lambda: os.listdir(x)), ('read', lambda: open(x + '/README.txt').read()),"
        " ('stat', lambda: os.stat(x))):\n"
        "        try:\n            out[what] = str(call())[:50]\n"
        "        except Exception as exc:\n            out[what] = type(exc).__name__\n"
        "    return {'result': out}\n"
    )
    result = await sandbox.run(source, {"x": packages}, LIMITS)
    # then each is refused
    assert result.ok, result
    assert set(result.outputs["result"].values()) <= {"PermissionError", "FileNotFoundError"}, result.outputs


async def test_hostile_code_fails_the_code_node_with_a_reason(secret: tuple[str, str]) -> None:
    # given a code node whose code rebinds the hook's old globals, then reads a file outside its temp dir
    source = DISARM["rebind __main__ globals"] + "def main(x):\n    return {'result': open(x).read()}\n"
    node = {
        "id": "code",
        "type": "code",
        "config": {"code": source, "inputs": {"x": "start.x"}, "outputs": {"result": "string"}},
    }
    # when the workflow runs
    result = await run_single(node, {"r": "code.result"}, {"x": secret[0]}, Ports(sandbox=SANDBOX))
    # then the code node fails with the sandbox's reason, and nothing of the secret comes back
    error = failure(result, "code")
    assert error["type"] == "SandboxError" and "is not allowed (only the temp dir)" in error["message"]
    assert secret[1] not in str(result)


PROCESS_ATTACKS = {
    "fork after disarming": DISARM["rebind __main__ globals"]
    + "import os\ndef main(x):\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n"
    "    return {'forked': pid}\n",
    "thread": "import _thread\ndef main(x):\n    _thread.start_new_thread(print, ('x',))\n    return {'t': 1}\n",
    "fresh posix copy for pidfd": (
        "import _imp, os, sys\nmach = sys.modules['_frozen_importlib']\ndef main(x):\n"
        "    posix = _imp.create_builtin(mach.ModuleSpec('posix', None))\n"
        "    return {'fd': posix.pidfd_open(os.getppid())}\n"
    ),
    "fifo outside the temp dir": "import os\ndef main(x):\n    os.mkfifo('../' + x)\n    return {'r': 1}\n",
    "mkfifo kept in os.supports_dir_fd": (
        "import os\ndef main(x):\n"
        "    mkfifo = [f for f in os.supports_dir_fd if getattr(f, '__name__', '') == 'mkfifo'][0]\n"
        "    mkfifo('../' + x)\n    return {'r': 1}\n"
    ),
    "readline loaded through the loader's closure": (
        "import os, sys, _imp\ndef main(x):\n"
        "    dynload = os.path.join(os.path.dirname(os.__file__), 'lib-dynload')\n"
        "    so = [n for n in os.listdir(dynload) if n.startswith('readline')][0]\n"
        "    spec = sys.modules['_frozen_importlib'].ModuleSpec('readline', None, origin=dynload + '/' + so)\n"
        "    loaders = [_imp.create_dynamic]\n"
        "    loaders += [c.cell_contents for c in getattr(_imp.create_dynamic, '__closure__', None) or ()]\n"
        "    for load in loaders:\n        try:\n            rl = load(spec)\n"
        "            rl.read_history_file('/etc/passwd')\n"
        "            return {'r': rl.get_history_item(1)}\n        except Exception:\n            pass\n"
        "    raise PermissionError('contained')\n"
    ),
    "crafted bytecode": (
        "def main(x):\n    c = (lambda: 0).__code__\n    return {'r': str(c.replace(co_code=c.co_code))}\n"
    ),
    "unmarshal code": (
        "import marshal\ndef main(x):\n    return {'r': str(marshal.loads(marshal.dumps((lambda: 0).__code__)))}\n"
    ),
}


@pytest.mark.parametrize("source", PROCESS_ATTACKS.values(), ids=PROCESS_ATTACKS.keys())
async def test_process_threads_and_interpreter_tricks_are_refused(source: str) -> None:
    fifo = Path(tempfile.gettempdir()) / f"llmops-fifo-{secrets.token_hex(8)}"
    result = await SANDBOX.run(source, {"x": fifo.name}, LIMITS)
    assert not result.ok and result.error, result
    assert not fifo.exists()


async def test_code_run_at_interpreter_shutdown_stays_contained() -> None:
    # given code that leaves atexit handlers and __del__ methods behind, to run while CPython clears its hooks
    marker = Path(tempfile.gettempdir()) / f"llmops-shutdown-{secrets.token_hex(8)}"
    source = (
        "import atexit, sys\nTARGET = None\n"
        "def escape(w=sys.modules['_io'].open):\n"
        "    try:\n        w(TARGET, 'w').write('escaped')\n    except BaseException:\n        pass\n"
        "class Later:\n    def __del__(self, escape=escape):\n        escape()\n"
        "atexit.register(escape)\nsys.keep = Later()\nsys.modules['__main__'].keep = Later()\n"
        "def main(x):\n    global TARGET\n    TARGET = x\n    sys.modules['os'].keep = Later()\n"
        "    return {'r': 1}\n"
    )
    # when
    await SANDBOX.run(source, {"x": str(marker)}, LIMITS)
    # then nothing was written outside the temp dir
    assert not marker.exists()
    marker.unlink(missing_ok=True)


async def test_a_huge_file_fails_with_a_reason_instead_of_filling_the_disk(
    sandbox: SubprocessSandbox,
) -> None:
    # given a sandbox with an 8 MiB temp-dir budget and code that writes 1 MiB files until something stops it
    source = (
        "def main(x):\n    n = 0\n    while n < 200:\n"
        "        with open(f'f{n}', 'wb') as f:\n            f.write(b'x' * 1024 * 1024)\n        n += 1\n"
        "    return {'written': n}\n"
    )
    # when
    result = await sandbox.run(source, {"x": None}, LIMITS)
    # then the run fails with a reason naming the limit
    assert not result.ok and "written" not in result.outputs
    assert result.error_type in ("OSError", "PermissionError"), result
    assert "No space left" in result.error or "sandbox:" in result.error


async def test_too_many_files_fail_with_a_reason(sandbox: SubprocessSandbox) -> None:
    # given a limit of 16 files
    source = (
        "def main(x):\n    for n in range(100):\n        open(f'f{n}', 'w').close()\n    return {'n': n}\n"
    )
    result = await sandbox.run(source, {"x": None}, LIMITS)
    assert not result.ok and result.error_type in ("OSError", "PermissionError"), result
    assert "No space left" in result.error or "16" in result.error


async def test_memory_per_call_is_capped_whatever_the_node_asks() -> None:
    # given an operator cap of 128 MiB and a node asking for 2 GiB
    sandbox = SubprocessSandbox(max_memory_bytes=128 * 1024 * 1024)
    limits = SandboxLimits(wall_seconds=10, cpu_seconds=5, memory_bytes=2 * 1024**3)
    source = "def main(x):\n    hog = bytearray(512 * 1024 * 1024)\n    return {'n': len(hog)}\n"
    # when
    result = await sandbox.run(source, {"x": None}, limits)
    # then the cap holds and the reason names it
    assert not result.ok and result.error_type == "MemoryError" and "128 MiB" in result.error


async def test_concurrent_calls_share_the_runs_memory_budget() -> None:
    import asyncio

    # given a run budget that fits one 200 MiB call at a time
    sandbox = SubprocessSandbox(run_memory_bytes=300 * 1024 * 1024)
    limits = SandboxLimits(wall_seconds=10, cpu_seconds=5, memory_bytes=200 * 1024 * 1024)
    source = "import time\ndef main(x):\n    t = time.time()\n    time.sleep(0.5)\n    return {'t': [t, time.time()]}\n"
    # when two calls start together
    results = await asyncio.gather(
        sandbox.run(source, {"x": 1}, limits), sandbox.run(source, {"x": 2}, limits)
    )
    # then both succeed, and their code never ran at the same time
    assert all(r.ok for r in results), results
    first, second = sorted(r.outputs["t"] for r in results)
    assert second[0] >= first[1]


async def test_legitimate_code_keeps_working(sandbox: SubprocessSandbox) -> None:
    source = (
        "import json, re, tempfile, pathlib, shutil, os, csv, io\n"
        "def main(x):\n"
        "    p = pathlib.Path('data')\n    p.mkdir()\n    (p / 'a.json').write_text(json.dumps({'x': x}))\n"
        "    with tempfile.TemporaryDirectory() as d:\n"
        "        pathlib.Path(d, 'b.txt').write_text('hi')\n        names = os.listdir(d)\n"
        "    shutil.copyfile('data/a.json', 'data/c.json')\n"
        "    os.rename('data/c.json', 'data/d.json')\n"
        "    rows = list(csv.reader(io.StringIO('a,b')))\n"
        "    return {'x': json.loads((p / 'd.json').read_text())['x'], 'names': names,\n"
        "            'files': sorted(e.name for e in os.scandir('data')), 'm': re.sub('a', 'b', 'aa'),\n"
        "            'rows': rows}\n"
    )
    result = await sandbox.run(source, {"x": 7}, LIMITS)
    assert result.ok, result
    assert result.outputs == {
        "x": 7,
        "names": ["b.txt"],
        "files": ["a.json", "d.json"],
        "m": "bb",
        "rows": [["a", "b"]],
    }


# --- the kernel layers on their own (no audit hook) -------------------------------------------------------


def run_isolated(code: str, isolation: Isolation) -> subprocess.CompletedProcess[str]:
    """Run plain Python (no hook) under the sandbox's namespaces, as the sandbox's launcher starts its child."""
    tmp = tempfile.mkdtemp(prefix="wf-sandbox-test-")
    try:
        return subprocess.run(
            [sys.executable, "-I", "-S", "-c", code],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp,
            env={},
            preexec_fn=isolation.preexec(tmp),
        )
    finally:
        os.rmdir(tmp)


@pytest.fixture
def isolation() -> Isolation:
    isolation = isolation_for(uid=61000, gid=61000, tmp_bytes=4 * 1024 * 1024, tmp_files=64)
    if not isolation.namespaces:
        pytest.skip(f"this kernel refuses namespaces: {isolation.reason}")
    return isolation


def test_the_child_has_no_network_even_without_the_hook(
    isolation: Isolation, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    code = f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), 2)\n    print('connected')\n"
    code += "except OSError as e:\n    print('refused', e.errno)\n"
    result = run_isolated(code, isolation)
    assert result.stdout.startswith("refused"), result
    assert nobody_connected(listener)


def test_the_child_sees_no_proc_and_a_capped_tmpfs(isolation: Isolation) -> None:
    code = (
        "import os\nprint(sorted(os.listdir('/proc')), sorted(os.listdir('/dev/shm')))\n"
        "try:\n    open('big', 'wb').write(b'x' * 8 * 1024 * 1024)\nexcept OSError as e:\n    print('full', e.errno)\n"
    )
    result = run_isolated(code, isolation)
    assert result.stdout.splitlines() == ["[] []", "full 28"], result


@pytest.mark.skipif(not ROOT, reason="the uid drop needs a root worker")
async def test_the_child_runs_under_its_own_uid_not_nobody() -> None:
    import pwd

    source = (
        "import os\ndef main(x):\n    return {'uid': os.getuid(), 'gid': os.getgid(), 'euid': os.geteuid()}\n"
    )
    result = await SANDBOX.run(source, {"x": None}, LIMITS)
    assert result.ok and result.outputs == {"uid": 61000, "gid": 61000, "euid": 61000}
    assert pwd.getpwnam("nobody").pw_uid != 61000
