"""Playwright on Debian's chromium (never `playwright install`).

Without /usr/bin/chromium the browser tests are skipped — unless DOUDI_REQUIRE_BROWSER=1 (CI),
where a missing browser is a failure, so CI can never pass by skipping them.
"""

import os
from pathlib import Path

import pytest

from browser.chromium import ARGS, CHROMIUM, when_missing

# live_server runs Django in a thread while Playwright's sync API runs an event loop in this one;
# Django would otherwise refuse ORM calls from a thread that has a running loop.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture(scope="session")
def browser():
    missing = when_missing()
    if missing:
        action, reason = missing
        (pytest.fail if action == "fail" else pytest.skip)(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own empty profile and cookies) per test; console errors collected
    so a test can assert the page ran clean under the Content-Security-Policy."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    """`phone(viewport)`: a page in a fresh touch-screen phone context (2× pixels), its console
    errors collected like `page`'s; the contexts are closed after the test."""
    contexts = []

    def open_page(viewport):
        context = browser.new_context(
            locale="zh-CN", viewport=viewport, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot_dir(tmp_path):
    """Where screenshots go: DOUDI_SCREENSHOT_DIR when set (to look at them), else a temp dir."""
    target = Path(os.environ.get("DOUDI_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """Every browser test comes from 127.0.0.1 and the rate-limit counters live in the cache, which a
    worker's tests share: without this, the applications of the tests before exhaust the portal's
    limit and a later test is answered 429. Each test starts with no counts."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.DOUDI_CACHE == "database":  # the cache is a table: clearing it needs the database
        request.getfixturevalue("transactional_db")
    cache.clear()
    yield
