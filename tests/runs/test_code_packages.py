"""Packages in code nodes: the operator's allow-list is importable from its own environment, nothing else is
(the platform least of all), and ``requests``/``httpx`` reach the network only through the SSRF guard."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from llmops.runs.ports import build_sandbox
from llmops.runs.sandbox_packages import (
    PackageEnvironmentError,
    environment_install,
    environment_problems,
    sandbox_packages_check,
)
from tests.workflows._helpers import failure, run_single
from workflows import Ports, RunResult

pytestmark = pytest.mark.skipif(
    not Path(django_settings.LLMOPS_SANDBOX_PACKAGES_DIR).is_dir(),
    reason="the sandbox package environment is not built: run `make install`",
)


def code_node(source: str) -> dict[str, Any]:
    return {"id": "code", "type": "code", "config": {"code": source, "outputs": {"result": "any"}}}


async def run_code(source: str, **limits: Any) -> RunResult:
    node = code_node(source)
    node["config"]["limits"] = {"wall_seconds": 60, "cpu_seconds": 30, "memory_mb": 1024, **limits}
    result: RunResult = await run_single(node, {"result": "code.result"}, {}, Ports(sandbox=build_sandbox()))
    return result


PACKAGES = {
    "jieba": ("import jieba\ndef main():\n    return {'result': list(jieba.cut('我来到北京清华大学'))}",
              ["我", "来到", "北京", "清华大学"]),
    "pandas": ("import io\nimport pandas as pd\ndef main():\n"
               "    frame = pd.read_csv(io.StringIO('city,sales\\nParis,3\\nLyon,4\\nParis,5'))\n"
               "    return {'result': frame.groupby('city').sales.sum().to_dict()}",
               {"Lyon": 4, "Paris": 8}),
    "numpy": ("import numpy as np\ndef main():\n"
              "    a = np.array([[2.0, 1.0], [1.0, 3.0]])\n"
              "    return {'result': np.linalg.solve(a, np.array([3.0, 5.0])).round(6).tolist()}",
              [0.8, 1.4]),
    "json_repair": ("from json_repair import repair_json\ndef main():\n"
                    "    return {'result': repair_json('{\"a\": 1, \"b\": [1, 2', return_objects=True)}",
                    {"a": 1, "b": [1, 2]}),
    "beautifulsoup4": ("from bs4 import BeautifulSoup\ndef main():\n"
                       "    soup = BeautifulSoup('<ul><li>a</li><li>b</li></ul>', 'html.parser')\n"
                       "    return {'result': [li.text for li in soup.find_all('li')]}",
                       ["a", "b"]),
    "pyyaml": ("import yaml\ndef main():\n    return {'result': yaml.safe_load('a: [1, 2]\\nb: {c: x}')}",
               {"a": [1, 2], "b": {"c": "x"}}),
    "pydantic": ("from pydantic import BaseModel, ValidationError\ndef main():\n"
                 "    class Item(BaseModel):\n        name: str\n        qty: int\n"
                 "    try:\n        Item(name='x', qty='many')\n    except ValidationError as exc:\n"
                 "        error = exc.errors()[0]['loc']\n"
                 "    return {'result': [Item(name='a', qty='3').qty, list(error)]}",
                 [3, ["qty"]]),
    "matplotlib": ("import os\nimport matplotlib.pyplot as plt\ndef main():\n"
                   "    fig, ax = plt.subplots()\n    ax.bar(['a', 'b'], [3, 5])\n    fig.savefig('chart.png')\n"
                   "    head = open('chart.png', 'rb').read(8)\n"
                   "    return {'result': [head == b'\\x89PNG\\r\\n\\x1a\\n', os.path.getsize('chart.png') > 1000]}",
                   [True, True]),
}  # fmt: skip


@pytest.mark.parametrize("package", sorted(PACKAGES))
async def test_code_nodes_use_each_default_package(package: str) -> None:
    source, expected = PACKAGES[package]
    result = await run_code(source)
    assert result.status == "succeeded", result.nodes["code"].error
    assert result.outputs["result"] == expected


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import django\ndef main():\n    return {}", "django"),
        ("import llmops.settings\ndef main():\n    return {}", "llmops"),
        ("from workflows import Executor\ndef main():\n    return {}", "workflows"),
        ("def main():\n    __import__('django.conf')\n    return {}", "django"),
        ("import importlib\ndef main():\n    importlib.import_module('llmops')\n    return {}", "llmops"),
        (
            "import importlib.util\ndef main():\n    importlib.util.find_spec('workflows')\n    return {}",
            "workflows",
        ),
        ("import sklearn\ndef main():\n    return {}", "sklearn"),
    ],
)
async def test_a_module_outside_the_list_fails_naming_it_and_the_setting(source: str, module: str) -> None:
    error = failure(await run_code(source), "code")
    assert f"the package {module!r} is not available in code nodes" in error["message"]
    assert "LLMOPS_SANDBOX_PACKAGES" in error["message"]


async def test_the_platform_is_not_loaded_in_the_child_at_all() -> None:
    source = (
        "import sys\nimport numpy\ndef main():\n"
        "    return {'result': [m for m in sys.modules if m.split('.')[0] in ('django', 'llmops', 'workflows')]"
        " + [p for p in sys.path if '.venv' in p]}"
    )
    result = await run_code(source)
    assert result.status == "succeeded" and result.outputs["result"] == []


async def test_the_package_environment_is_read_only_to_code(settings: Any) -> None:
    target = Path(settings.LLMOPS_SANDBOX_PACKAGES_DIR) / "yaml" / "__init__.py"
    source = f"import yaml\ndef main():\n    open({str(target)!r}, 'a').write('# pwned')\n    return {{}}"
    error = failure(await run_code(source), "code")
    assert "PermissionError" in error["message"]


def test_the_start_up_check_reports_packages_the_environment_lacks(settings: Any, tmp_path: Path) -> None:
    settings.LLMOPS_SANDBOX_PACKAGES = ["numpy", "leftpad-nowhere"]
    assert [e.id for e in sandbox_packages_check()] == ["llmops.runs.W001"]
    settings.LLMOPS_SANDBOX_PACKAGES_DIR = str(tmp_path)
    (problem,) = environment_problems(packages=["numpy"], target=tmp_path)
    assert "LLMOPS_SANDBOX_PACKAGES names numpy, not installed" in problem


def test_the_configured_environment_passes_the_start_up_check() -> None:
    assert sandbox_packages_check() == []


def test_a_package_that_cannot_be_installed_is_a_clear_build_error(tmp_path: Path) -> None:
    target = tmp_path / "env"
    with pytest.raises(PackageEnvironmentError, match="could not install the code nodes' packages"):
        environment_install(packages=["llmops-no-such-package-zz9==1.0"], target=target)
    assert not target.exists()


# HTTP from code: the child has no network of its own; requests and httpx go through the guarded client.


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "agent": self.headers.get("x-test")}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


REQUESTS_GET = (
    "import requests\ndef main():\n"
    "    response = requests.get('{url}/items', params={{'q': 'a b'}}, headers={{'x-test': 'yes'}}, timeout=5)\n"
    "    response.raise_for_status()\n"
    "    return {{'result': [response.status_code, response.json()]}}"
)
HTTPX_GET = (
    "import httpx\ndef main():\n"
    "    response = httpx.get('{url}/items', headers={{'x-test': 'yes'}})\n"
    "    return {{'result': [response.status_code, response.json()]}}"
)


@pytest.mark.parametrize("template", [REQUESTS_GET, HTTPX_GET], ids=["requests", "httpx"])
async def test_http_from_code_reaches_an_allow_listed_server(
    template: str, server: str, settings: Any
) -> None:
    settings.LLMOPS_WORKFLOW_HTTP_ALLOWLIST = ["127.0.0.1"]
    result = await run_code(template.format(url=server))
    assert result.status == "succeeded", result.nodes["code"].error
    status, body = result.outputs["result"]
    assert status == 200 and body["agent"] == "yes" and body["path"].startswith("/items")


@pytest.mark.parametrize("url", ["http://10.20.30.40", "http://169.254.169.254", "LOCAL"])
async def test_http_from_code_to_a_private_address_is_refused_by_the_guard(
    url: str, server: str, settings: Any
) -> None:
    settings.LLMOPS_WORKFLOW_HTTP_ALLOWLIST = []
    error = failure(await run_code(REQUESTS_GET.format(url=server if url == "LOCAL" else url)), "code")
    assert "ConnectionError" in error["message"] and "add it to the allow-list" in error["message"]


async def test_without_namespaces_no_package_is_offered_and_sockets_are_still_refused(
    server: str, settings: Any
) -> None:
    # Native packages can write anywhere in the child's memory (numpy), so they can switch the audit hook off:
    # they are offered only where the kernel isolates the child (its own uid in private namespaces)
    settings.LLMOPS_SANDBOX_NAMESPACES = "off"
    settings.LLMOPS_WORKFLOW_HTTP_ALLOWLIST = []
    port = server.rsplit(":", 1)[1]
    offered = failure(await run_code("import numpy\ndef main():\n    return {}"), "code")
    assert "the package 'numpy' is not available in code nodes" in offered["message"]
    assert "only where the sandbox runs it as its own user in private namespaces" in offered["message"]
    direct = (
        f"import socket\ndef main():\n    socket.create_connection(('127.0.0.1', {port}))\n    return {{}}"
    )
    assert "PermissionError: sandbox:" in failure(await run_code(direct), "code")["message"]


# Packages load socket, subprocess and ctypes for themselves before the lockdown: using them stays refused.
PACKAGE_ATTACKS = {
    "ctypes after numpy": "import numpy\nimport ctypes\ndef main():\n    return {'result': ctypes.string_at(id(1), 8)}",
    "subprocess after pandas": "import pandas\nimport subprocess\ndef main():\n    subprocess.run(['id'])",
    "socket after requests": "import requests\nimport socket\ndef main():\n    socket.socket()",
    "a file outside through pandas": "import pandas as pd\ndef main():\n    pd.read_csv('/etc/passwd')",
    "rewrite a package module": "import yaml, os\ndef main():\n    os.remove(yaml.__file__)",
}


@pytest.mark.parametrize("source", PACKAGE_ATTACKS.values(), ids=PACKAGE_ATTACKS.keys())
async def test_what_packages_loaded_for_themselves_cannot_be_turned_against_the_sandbox(source: str) -> None:
    error = failure(await run_code(source), "code")
    assert "PermissionError" in error["message"]


async def test_the_http_channel_used_by_hand_is_still_guarded(settings: Any) -> None:
    settings.LLMOPS_WORKFLOW_HTTP_ALLOWLIST = []
    source = (
        "import requests.adapters\ndef main():\n"
        "    send = requests.adapters.HTTPAdapter.send.__closure__\n"
        "    bridge = [c.cell_contents for c in send if callable(c.cell_contents)][0]\n"
        "    return {'result': bridge('GET', 'http://169.254.169.254/latest/meta-data/', [], b'', 5)}"
    )
    result = await run_code(source)
    assert result.status == "succeeded"
    assert "add it to the allow-list" in result.outputs["result"]["error"]
