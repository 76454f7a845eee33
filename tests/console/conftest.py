"""Browser tests of the console: the system Chromium driven by Playwright against the real platform (uvicorn,
a Celery worker, PostgreSQL, Redis and a local model server). Screenshots of the main pages are written to
``.llmops/artifacts/console/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.chromium import FLAGS, INSTALL_HINT, chromium_path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".llmops" / "artifacts" / "console"
PASSWORD = "console-Pa55word"


@pytest.fixture
def browser(transactional_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Chromium for one test. Playwright's sync API keeps an event loop running in this thread while it is
    open, so Django's async-safety check is off meanwhile (the test's ORM calls are plain sync code)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = chromium_path()
    if executable is None:
        pytest.fail(INSTALL_HINT)
    if not (ROOT / "frontend" / "dist" / "index.html").exists():
        pytest.fail("the console is not built: run make console (make test builds it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        screenshot(page, f"failed-{request.node.name}")
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def screenshot(page: Any, name: str) -> None:
    """Save a screenshot of the page as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def sign_in(page: Any, server: str, username: str, next_path: str = "/") -> None:
    """Sign in through the sign-in page (as a person would), landing on ``next_path``."""
    page.goto(f"http://{server}{next_path}")
    page.wait_for_url("**/sign-in**")
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)
