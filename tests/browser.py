"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and the real app on a
real HTTP port. Loaded by tests/conftest.py as a plugin; used by test_web_page.py (the page) and
test_web_sign_in.py (signing in and out).

    def test_x(signed_in, page_url, celery_worker): ...   # a tab opened from the sign-in link

Playwright drives Debian's `chromium` by its path; no browser is ever downloaded. Run as root the
fixture installs it; otherwise the tests skip with the reason printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",  # lets the test start playback without a click
]
@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's chromium: installed here when missing and we are root, else the tests skip."""
    if shutil.which(CHROMIUM):
        return CHROMIUM
    if os.geteuid() != 0:
        reason = f"{CHROMIUM} is missing and installing it needs root (apt-get install chromium)"
        print(reason)
        pytest.skip(reason)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, env=env, capture_output=True)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_executable):
    """One headless Chromium for the whole session."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_tab(browser, **options):
    """A fresh phone-sized tab in its own context; it records script errors on the page."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US", **options)
    page = context.new_page()
    page.script_errors = []
    page.on("pageerror", lambda error: page.script_errors.append(str(error)))
    return page


@pytest.fixture
def page(browser):
    """A tab for driving the page. The page's own Content-Security-Policy forbids eval, which
    Playwright's string predicates need, so it is bypassed here; test_..._content_security_policy
    runs with it in force."""
    page = new_tab(browser, bypass_csp=True)
    yield page
    page.context.close()


@pytest.fixture
def strict_page(browser):
    """A tab that obeys the page's Content-Security-Policy."""
    page = new_tab(browser)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def service_app(service_env, database):
    """The real app: create_app with the module's database, media folder and Redis queue."""
    from service import create_app

    return create_app({"TESTING": True})


@pytest.fixture(scope="module")
def page_url(service_app):
    """The real app (create_app with the real database, media store and queue) on a real HTTP port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, service_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def signed_in(page, page_url, live_key):
    """The page opened from its sign-in link, once it shows the signed-in user's things."""
    page.goto(f"{page_url}#key={live_key}")
    page.get_by_role("button", name="Sign out").wait_for(timeout=10_000)
    return page


def api(page_url: str, path: str) -> str:
    """An absolute API URL of the service under test."""
    return f"{page_url}api/v1{path}"


def make_address(page) -> str:
    """Press "Make a new address" (agreeing that the old one stops) and read the new address."""
    from playwright.sync_api import expect

    field = page.get_by_label("Private feed address")
    before = field.input_value()  # a second address must be waited for, not the first re-read
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Make a new address").click()
    field.wait_for(timeout=10_000)
    expect(field).not_to_have_value(before, timeout=10_000)
    return field.input_value()
