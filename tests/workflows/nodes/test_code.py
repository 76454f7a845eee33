"""code node and the subprocess sandbox: normal code works; hostile code is contained."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.workflows._helpers import end, failure, run_single, start, wf
from workflows import Ports, SandboxLimits, validate_workflow
from workflows.sandbox import SubprocessSandbox

SANDBOX = SubprocessSandbox()


def code_node(source: str, outputs: dict[str, str] | None = None, **limits: Any) -> dict[str, Any]:
    config = {"code": source, "inputs": {"x": "start.x"}, "outputs": outputs or {"result": "any"}}
    if limits:
        config["limits"] = limits
    return {"id": "code", "type": "code", "config": config}


async def test_code_node_returns_main_outputs() -> None:
    source = "import math\ndef main(x):\n    print('hi')\n    return {'double': x * 2, 'root': math.sqrt(x)}"
    result = await run_single(
        code_node(source, {"double": "number", "root": "number"}),
        {"d": "code.double", "r": "code.root"},
        {"x": 16},
        Ports(sandbox=SANDBOX),
    )
    assert result.outputs == {"d": 32, "r": 4.0}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def main(x):\n    return {'result': 1, 'other': 2}", None),
        ("def main(x):\n    return {}", "missing output 'result'"),
        ("def main(x):\n    return 3", "main() must return a dict"),
        ("def main(x):\n    raise ValueError('nope')", "ValueError: nope"),
        ("def main(x):\n    return {'result': object()}", "outputs are not JSON"),
    ],
)
async def test_code_node_checks_what_main_returns(source: str, message: str | None) -> None:
    result = await run_single(
        code_node(source, {"result": "number"}), {"r": "code.result"}, {"x": 1}, Ports(sandbox=SANDBOX)
    )
    if message is None:
        assert result.outputs == {"r": 1}
    else:
        error = failure(result, "code")
        assert error["type"] == "SandboxError" and message in error["message"]


HOSTILE = {
    "infinite loop": (
        "def main(x):\n    while True:\n        pass",
        ("CPUTimeLimitExceeded", "TimeoutError"),
    ),
    "sleeping forever": ("import time\ndef main(x):\n    time.sleep(60)", ("TimeoutError",)),
    "fork bomb": (
        "import os\ndef main(x):\n    while True:\n        os.fork()",
        ("PermissionError", "BlockingIOError"),
    ),
    "memory hog": (
        "def main(x):\n    hog = bytearray(2 * 1024 ** 3)\n    return {'result': len(hog)}",
        ("MemoryError",),
    ),
    "growing memory": (
        "def main(x):\n    xs = []\n    while True:\n        xs.append('x' * 10 ** 6)",
        ("MemoryError",),
    ),
    "read /etc/passwd": (
        "def main(x):\n    return {'result': open('/etc/passwd').read()}",
        ("PermissionError",),
    ),
    "list the root dir": (
        "import os\ndef main(x):\n    return {'result': os.listdir('/')}",
        ("PermissionError",),
    ),
    "escape the temp dir": ("def main(x):\n    open('../escape.txt', 'w').write('x')", ("PermissionError",)),
    "open a socket": (
        "import socket\ndef main(x):\n    socket.create_connection(('127.0.0.1', 80))",
        ("PermissionError",),
    ),
    "socket via _socket": ("def main(x):\n    __import__('_socket').socket()", ("PermissionError",)),
    "run a shell": ("import os\ndef main(x):\n    os.system('id')", ("PermissionError",)),
    "subprocess": ("def main(x):\n    __import__('subprocess').run(['id'])", ("PermissionError",)),
    "ctypes": ("def main(x):\n    __import__('ctypes').CDLL(None)", ("PermissionError",)),
    "exit the interpreter": ("import sys\ndef main(x):\n    sys.exit(0)", ("SystemExit",)),
}


@pytest.mark.parametrize(("source", "errors"), HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_code_is_contained(source: str, errors: tuple[str, ...]) -> None:
    # given tight limits
    limits = SandboxLimits(wall_seconds=3, cpu_seconds=1, memory_bytes=256 * 1024 * 1024)
    # when
    started = time.perf_counter()
    result = await SANDBOX.run(source, {"x": 1}, limits)
    # then it fails with the expected kind of error, well within the wall-time limit plus kill time
    assert not result.ok
    assert result.error_type in errors, result
    assert time.perf_counter() - started < 5


async def test_files_in_the_temp_dir_are_allowed_and_removed_afterwards() -> None:
    source = (
        "import os\ndef main(x):\n    open('note.txt', 'w').write('hi')\n"
        "    return {'cwd': os.getcwd(), 'text': open('note.txt').read()}"
    )
    result = await SANDBOX.run(source, {"x": 1}, SandboxLimits())
    assert result.ok and result.outputs["text"] == "hi"
    import os

    assert not os.path.exists(result.outputs["cwd"])


async def test_sandboxed_code_runs_as_an_unprivileged_user() -> None:
    result = await SANDBOX.run(
        "import os\ndef main(x):\n    return {'uid': os.getuid()}", {"x": 1}, SandboxLimits()
    )
    assert result.ok and result.outputs["uid"] != 0


async def test_a_node_timeout_kills_the_sandbox_process() -> None:
    node = code_node("import time\ndef main(x):\n    time.sleep(30)")
    node["timeout_seconds"] = 0.5
    started = time.perf_counter()
    result = await run_single(node, {"r": "code.result"}, {"x": 1}, Ports(sandbox=SANDBOX))
    assert failure(result, "code")["type"] == "NodeTimeoutError"
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def main(:\n  pass", "syntax error"),
        ("def helper():\n    return {}", "must define a top-level function main"),
    ],
)
def test_code_that_cannot_run_is_a_validation_problem(source: str, message: str) -> None:
    workflow = wf(
        [start(), code_node(source), end()],
        ["start->code", "code->end"],
        inputs=[{"name": "x", "type": "json"}],
    )
    assert message in validate_workflow(workflow)[0].message
