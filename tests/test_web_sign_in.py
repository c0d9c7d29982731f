"""Signing in to the page at `/` in a real headless Chromium: the key is traded for an HttpOnly
cookie and leaves no trace the page's script can read; without a key, or with a wrong or revoked
one, the page asks for one and says why. Fixtures: tests/browser.py.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import api, make_address

pytestmark = pytest.mark.browser

def test_a_sign_in_link_leaves_no_key_behind_and_sets_an_httponly_cookie(page, page_url, live_key):
    """After `/#key=…` the address, history, storage and every other request are free of the key."""
    carrying_key = []
    page.on("request", lambda request: carrying_key.append(f"{request.method} {request.url}")
            if live_key in str(request.headers) or live_key in (request.post_data or "") else None)
    page.goto(f"{page_url}#key={live_key}")
    page.get_by_role("button", name="Sign out").wait_for(timeout=10_000)
    assert page.url == page_url and page.evaluate("location.hash") == ""
    assert carrying_key == [f"POST {api(page_url, '/session')}"], "only the sign-in call may carry the key"
    cookie = next(c for c in page.context.cookies() if c["name"] == "narrator_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    readable = page.evaluate("""() => JSON.stringify([document.cookie, location.href, history.state,
        Object.entries(localStorage), Object.entries(sessionStorage), document.body.innerHTML])""")
    assert live_key not in readable
    assert page.script_errors == []


def test_without_a_key_the_page_asks_for_one_and_says_why_a_key_is_wrong(page, page_url, live_key):
    """No cookie: a sign-in form explains where keys come from; a wrong key is refused in words."""
    page.goto(page_url)
    key_field = page.get_by_label("API key")
    key_field.wait_for(timeout=10_000)
    assert "narrator users create" in page.locator("#sign-in").inner_text()
    assert page.get_by_role("button", name="Narrate").is_hidden(), "the form needs a session"
    assert page.evaluate("document.activeElement.id") == "api-key", "the cursor should be in the key field"

    key_field.fill("nk_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#api-key-error").filter(has_text=re.compile(r"not valid")).wait_for(timeout=10_000)
    assert key_field.get_attribute("aria-invalid") == "true"

    key_field.fill(live_key)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#signed-in-as").filter(has_text="Signed in as").wait_for(timeout=10_000)
    assert page.get_by_label("Text to narrate").evaluate("(field) => field === document.activeElement")
    assert key_field.input_value() == "", "the key should not stay on the page"
    assert page.script_errors == []


def test_a_wrong_key_in_the_link_is_refused_in_words_and_removed(page, page_url, live_key):
    """A mistyped sign-in link says so and leaves the address; the right link, opened in the
    same tab, signs in."""
    page.goto(f"{page_url}#key=nk_not-a-real-key")
    page.locator("#api-key-error").filter(has_text="sign-in link did not work").wait_for(timeout=10_000)
    assert page.evaluate("location.hash") == ""
    assert page.get_by_label("API key").is_visible()
    page.evaluate("window.sameDocument = true")
    page.goto(f"{page_url}#key={live_key}")  # only the fragment changes: no reload
    page.get_by_role("button", name="Sign out").wait_for(timeout=10_000)
    assert page.evaluate("window.sameDocument === true && location.hash === ''")
    assert page.script_errors == []


def test_signing_out_clears_the_cookie_and_the_feed_address(signed_in, page_url):
    """Sign out: the cookie is gone (the API refuses this browser) and the private address is off the page."""
    page = signed_in
    address = make_address(page)
    page.get_by_role("button", name="Sign out").click()
    page.locator("#sign-in-note").filter(has_text="signed out").wait_for(timeout=10_000)
    assert not any(c["name"] == "narrator_session" for c in page.context.cookies())
    assert page.request.get(api(page_url, "/feeds")).status == 401
    assert address and address not in page.content()
    assert page.script_errors == []


def test_an_expired_session_brings_back_the_sign_in_form(signed_in, live_key):
    """Any 401 (here: the cookie is gone) shows the sign-in form; signing in reloads the user's things."""
    page = signed_in
    page.context.clear_cookies()
    page.get_by_role("button", name="Refresh").click()
    page.locator("#sign-in-note").filter(has_text="session has ended").wait_for(timeout=10_000)
    page.get_by_label("API key").fill(live_key)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#signed-in-as").filter(has_text="Signed in as").wait_for(timeout=10_000)
    assert page.script_errors == []
