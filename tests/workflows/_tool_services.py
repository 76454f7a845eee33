"""Local fakes of the web services the built-in tools call, on loopback, answering as the real ones do.

One HTTP server plays every service; ``RoutedHttpClient`` sends a request meant for a real host
(``api.tavily.com``...) to it, with the host in ``x-original-host``, through the engine's SSRF-guarded client
(loopback allowed). Shapes follow each service's API documentation: DuckDuckGo's HTML result page, the
MediaWiki API (``formatversion=2``), Tavily's ``/search``, SearXNG's ``format=json``, Jina Reader's JSON
answer and DeepL's ``/v2/translate``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from workflows import GuardedHttpClient, HttpRequest, HttpResponse

ROUTED_HOSTS = {
    "html.duckduckgo.com",
    "en.wikipedia.org",
    "fr.wikipedia.org",
    "api.tavily.com",
    "searx.example.org",
    "r.jina.ai",
    "api-free.deepl.com",
    "api.deepl.com",
}
TAVILY_KEY = "tvly-dev-good"
DEEPL_KEY = "0c7e3b7a-good:fx"
JINA_KEY = "jina_good"

PAGE = b"""<!DOCTYPE html>
<html><head><title>Tide tables - Harbour Office</title><style>body{color:red}</style>
<script>var tracking = "do not show";</script></head>
<body>
<header><nav><a href="/">Home</a> | <a href="/about">About</a></nav></header>
<main>
  <h1>Tide tables</h1>
  <p>High water at <strong>06:42</strong> and <a href="/evening">18:57</a> today.</p>
  <ul><li>Neap tides: small range</li><li>Spring tides: large range</li></ul>
</main>
<aside>Advertisement: buy a boat</aside>
<footer>Copyright Harbour Office</footer>
</body></html>"""

DDG_PAGE = """<!DOCTYPE html><html><head><title>llama at DuckDuckGo</title></head><body>
<div class="serp__results"><div id="links" class="results">
<div class="result results_links results_links_deep result--ad">
  <div class="links_main links_deep result__body"><h2 class="result__title">
  <a rel="nofollow" class="result__a" href="https://duckduckgo.com/y.js?ad_domain=ads.example">Buy llamas</a></h2>
  <a class="result__snippet" href="https://duckduckgo.com/y.js">Sponsored</a></div></div>
<div class="result results_links results_links_deep web-result ">
  <div class="links_main links_deep result__body">
  <h2 class="result__title"><a rel="nofollow" class="result__a"
    href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fen.wikipedia.org%2Fwiki%2FLlama&amp;rut=9d1e">Llama - <b>Wikipedia</b></a></h2>
  <div class="result__extras"><div class="result__extras__url">
    <a class="result__url" href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fen.wikipedia.org%2Fwiki%2FLlama">en.wikipedia.org/wiki/Llama</a>
  </div></div>
  <a class="result__snippet" href="//duckduckgo.com/l/?uddg=x">The <b>llama</b> is a domesticated South American camelid.</a>
  </div></div>
<div class="result results_links results_links_deep web-result ">
  <div class="links_main links_deep result__body">
  <h2 class="result__title"><a rel="nofollow" class="result__a"
    href="//duckduckgo.com/l/?uddg=https%3A%2F%2Fwww.nationalgeographic.com%2Fanimals%2Fllama&amp;rut=1f2a">Llama | National Geographic</a></h2>
  <a class="result__snippet" href="//duckduckgo.com/l/?uddg=y">Llamas are social animals and live with others as a herd.</a>
  </div></div>
</div></div></body></html>"""

DDG_CHALLENGE = """<!DOCTYPE html><html><body><div class="anomaly-modal__mask">
<div class="anomaly-modal__title">Unfortunately, bots use DuckDuckGo too.</div></div></body></html>"""

WIKIPEDIA_ANSWER = {
    "batchcomplete": True,
    "continue": {"gsroffset": 2, "continue": "gsroffset||"},
    "query": {
        "pages": [
            {
                "pageid": 17_456,
                "ns": 0,
                "title": "Llama (language model)",
                "index": 2,
                "extract": "Llama is a family of large language models released by Meta AI.",
                "contentmodel": "wikitext",
                "pagelanguage": "en",
                "fullurl": "https://en.wikipedia.org/wiki/Llama_(language_model)",
            },
            {
                "pageid": 18_187,
                "ns": 0,
                "title": "Llama",
                "index": 1,
                "extract": "The llama (Lama glama) is a domesticated South American camelid.",
                "contentmodel": "wikitext",
                "pagelanguage": "en",
                "fullurl": "https://en.wikipedia.org/wiki/Llama",
            },
        ]
    },
}


class _Service(BaseHTTPRequestHandler):
    seen: dict[str, dict[str, Any]]

    def do_GET(self) -> None:
        self._dispatch(b"")

    def do_POST(self) -> None:
        self._dispatch(self.rfile.read(int(self.headers.get("content-length") or 0)))

    def _dispatch(self, body: bytes) -> None:
        host = self.headers.get("x-original-host") or "local"
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.seen[host] = {"path": parts.path, "query": query, "headers": dict(self.headers), "body": body}
        handler = getattr(self, "_" + host.replace(".", "_").replace("-", "_"), self._local)
        handler(parts.path, query, body)

    # --- the services ---------------------------------------------------------------------------------

    def _html_duckduckgo_com(self, path: str, query: dict[str, str], body: bytes) -> None:
        if query.get("q") == "bot":
            self._reply(202, DDG_CHALLENGE.encode(), "text/html; charset=UTF-8")
        else:
            self._reply(200, DDG_PAGE.encode(), "text/html; charset=UTF-8")

    def _en_wikipedia_org(self, path: str, query: dict[str, str], body: bytes) -> None:
        if query.get("gsrsearch") == "zzzqqq":
            self._json(200, {"batchcomplete": True})
        else:
            self._json(200, WIKIPEDIA_ANSWER)

    def _fr_wikipedia_org(self, path: str, query: dict[str, str], body: bytes) -> None:
        self._json(
            200, {"error": {"code": "maxlag", "info": "Waiting for a database server: 7 seconds lagged."}}
        )

    def _api_tavily_com(self, path: str, query: dict[str, str], body: bytes) -> None:
        if self.headers.get("authorization") != f"Bearer {TAVILY_KEY}":
            self._json(401, {"detail": {"error": "Unauthorized: missing or invalid API key."}})
            return
        request = json.loads(body)
        self._json(
            200,
            {
                "query": request["query"],
                "follow_up_questions": None,
                "answer": "Llamas live in the Andes." if request.get("include_answer") else None,
                "images": [],
                "results": [
                    {
                        "title": "Llama - Wikipedia",
                        "url": "https://en.wikipedia.org/wiki/Llama",
                        "content": "The llama is a domesticated South American camelid.",
                        "score": 0.98,
                        "raw_content": None,
                    }
                ][: request.get("max_results", 5)],
                "response_time": 1.09,
            },
        )

    def _searx_example_org(self, path: str, query: dict[str, str], body: bytes) -> None:
        if query.get("format") != "json":
            self._reply(403, b"Forbidden", "text/plain")
            return
        results = [
            {
                "url": f"https://example.com/{i}",
                "title": f"Result {i} for {query['q']}",
                "content": f"Snippet {i}",
                "engine": "bing",
                "parsed_url": ["https", "example.com", f"/{i}", "", "", ""],
                "template": "default.html",
                "engines": ["bing", "brave"],
                "positions": [i],
                "score": 2.0 / i,
                "category": query.get("categories", "general"),
            }
            for i in range(1, 9)
        ]
        self._json(200, {"query": query["q"], "number_of_results": 0, "results": results, "answers": [],
                         "corrections": [], "infoboxes": [], "suggestions": [], "unresponsive_engines": []})  # fmt: skip

    def _r_jina_ai(self, path: str, query: dict[str, str], body: bytes) -> None:
        if self.headers.get("authorization") not in (None, f"Bearer {JINA_KEY}"):
            self._json(401, {"data": None, "code": 401, "name": "AuthenticationFailedError", "status": 40103,
                             "message": "Invalid API key", "readableMessage": "AuthenticationFailedError: Invalid API key"})  # fmt: skip
            return
        target = path[1:]
        content = "This domain is for use in illustrative examples in documents.\n\n" + "More text. " * 50
        self._json(200, {"code": 200, "status": 20000, "data": {"title": "Example Domain", "description": "",
                         "url": target, "content": content, "usage": {"tokens": 42}}})  # fmt: skip

    def _api_free_deepl_com(self, path: str, query: dict[str, str], body: bytes) -> None:
        if self.headers.get("authorization") != f"DeepL-Auth-Key {DEEPL_KEY}":
            self._json(403, {"message": "Forbidden"})
            return
        request = json.loads(body)
        text = {"DE": "Hallo, Welt!", "FR": "Bonjour, le monde !"}[request["target_lang"]]
        self._json(200, {"translations": [{"detected_source_language": "EN", "text": text}]})

    def _local(self, path: str, query: dict[str, str], body: bytes) -> None:
        if path == "/page.html":
            self._reply(200, PAGE, "text/html; charset=utf-8")
        elif path == "/notes.txt":
            self._reply(200, "Plain notes: café at 8.".encode(), "text/plain; charset=utf-8")
        elif path == "/logo.png":
            self._reply(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png")
        elif path == "/slow":
            time.sleep(3)
            self._reply(200, b"late", "text/plain")
        elif path == "/huge":
            self._huge(50 * 1024 * 1024)
        elif path == "/to-private":
            self.send_response(302)
            self.send_header("location", "http://10.0.0.1/admin")
            self.send_header("content-length", "0")
            self.end_headers()
        else:
            self._reply(404, b"not found", "text/plain")

    def _huge(self, size: int) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(size))
        self.end_headers()
        chunk = b"x" * (1024 * 1024)
        try:
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading at its cap, as it should

    def _json(self, status: int, data: Any) -> None:
        self._reply(status, json.dumps(data).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class FakeServices:
    """The running fake: its base URL and the last request each host received."""

    def __init__(self, base: str, seen: dict[str, dict[str, Any]]) -> None:
        self.base, self.seen = base, seen


@contextmanager
def fake_services() -> Iterator[FakeServices]:
    """Start the fake services on a free loopback port."""
    seen: dict[str, dict[str, Any]] = {}
    handler = type("Service", (_Service,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeServices(f"http://127.0.0.1:{httpd.server_address[1]}", seen)
    finally:
        httpd.shutdown()
        httpd.server_close()


class RoutedHttpClient:
    """The engine's guarded client (loopback allowed), with requests for the real services sent to the fake."""

    def __init__(self, services: FakeServices) -> None:
        self.services = services
        self.inner = GuardedHttpClient(allow=["127.0.0.1"])

    async def request(self, request: HttpRequest) -> HttpResponse:
        parts = urlsplit(request.url)
        if parts.hostname in ROUTED_HOSTS:
            url = self.services.base + parts.path + (f"?{parts.query}" if parts.query else "")
            headers = {**request.headers, "x-original-host": parts.hostname}
            request = replace(request, url=url, headers=headers)
        return await self.inner.request(request)
