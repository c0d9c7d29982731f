"""The page at `/` in a real headless Chromium, against the real service, Redis and Celery worker.

A person opens the sign-in link `narrator up` prints (`/#key=…`), pastes a two-chapter Markdown
text, narrates it with each voice, watches the chapters' progress arrive, plays the finished MP3
from the page, copies the private podcast feed address, and the page works on a 360 px phone.
Without a key the page asks for one. Playwright drives Debian's `chromium` by its path; no browser
is ever downloaded.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
import time

import pytest
import requests
from defusedxml import ElementTree

from tests.conftest_service import wait_until

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = pytest.mark.browser

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",  # lets the test start playback without a click
]
NARRATION_TIMEOUT_MS = 180_000  # two short chapters; generous for a loaded 2-core machine
TWO_CHAPTERS = """# A Quiet Start

The film opens in a small apartment. A man talks to his computer, and it answers.

# The Verdict

It is a gentle story about being heard. See it on a quiet evening.
"""
CHAPTER_TITLES = ["A Quiet Start", "The Verdict"]

# Records what the page shows as it changes, so the test can tell live progress from a final state.
WATCH_PROGRESS = """() => {
  window.seen = [];
  const note = () => window.seen.push({
    job: document.getElementById("job-status").dataset.status || "",
    chapters: [...document.querySelectorAll("#chapters .chapter")].map((row) => ({
      status: row.dataset.status, done: row.querySelector("progress").value,
      total: row.querySelector("progress").max, playable: !row.querySelector(".play").hidden })),
    at: performance.now() });
  new MutationObserver(note).observe(document.getElementById("job"),
    { subtree: true, childList: true, attributes: true, characterData: true });
}"""


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


def feed_ids_holding(http, page_url: str, job_id: str) -> list[str]:
    """The ids of the user's feeds that list the narration (as an episode or one to come)."""
    feeds = http.get(api(page_url, "/feeds"), timeout=10).json()["feeds"]
    return [feed["id"] for feed in feeds
            if any(entry["narration"] == job_id for entry in
                   http.get(api(page_url, f"/feeds/{feed['id']}/episodes"), timeout=10).json()["episodes"])]


def voice_radio(page, alias: str):
    """The voice choice whose label starts with the alias ("Female" must not match "Male")."""
    return page.get_by_role("radio", name=re.compile(rf"^{alias}\b", re.IGNORECASE))


@pytest.mark.parametrize("voice", ["female", "male"])
def test_narrating_with_each_voice_shows_progress_and_plays(signed_in, page_url, http, celery_worker, voice,
                                                            record_property, tmp_path):
    """Paste, choose the voice, submit: chapters appear with progress, then the MP3 plays."""
    page = signed_in
    page.get_by_label("Text to narrate").fill(TWO_CHAPTERS)
    assert page.get_by_label("The text is Markdown").is_checked(), "a # heading should tick Markdown"
    voice_radio(page, voice).check()
    page.evaluate(WATCH_PROGRESS)

    started = time.monotonic()
    page.get_by_role("button", name="Narrate").click()
    page.wait_for_function(
        "window.seen.some((s) => s.chapters.some((c) => c.done > 0 || c.status !== 'queued'))",
        timeout=NARRATION_TIMEOUT_MS)
    first_progress = time.monotonic() - started
    record_property("seconds_to_first_progress", round(first_progress, 2))
    log.info("%s voice: first chapter progress shown after %.2f s", voice, first_progress)
    job_id = page.evaluate("location.hash").removeprefix("#job=")
    default_feed = http.get(api(page_url, "/feeds"), timeout=10).json()["feeds"][0]["id"]
    assert feed_ids_holding(http, page_url, job_id) == [default_feed], "it should go in the default feed"

    rows = page.locator("#chapters .chapter-title")
    assert [re.sub(r"^\d+\.\s*", "", title) for title in rows.all_inner_texts()] == CHAPTER_TITLES

    audio = page.locator("#audio")
    page.wait_for_function("document.getElementById('audio').src.endsWith('/audio.mp3')",
                           timeout=NARRATION_TIMEOUT_MS)
    log.info("%s voice: MP3 ready after %.2f s", voice, time.monotonic() - started)
    seen = page.evaluate("window.seen")
    live = [s for s in seen if s["job"] not in ("done", "failed", "canceled")]
    assert any(c["done"] > 0 or c["status"] != "queued" for s in live for c in s["chapters"]), \
        "no chapter progress was shown before the narration ended"
    assert all(c["status"] == "done" and c["done"] == c["total"] and c["playable"]
               for c in seen[-1]["chapters"]), "every chapter should end done and playable"

    # Chapter buttons come from chapters.json, one per chapter, the first at the start.
    jumps = page.locator("#chapter-nav button")
    jumps.nth(len(CHAPTER_TITLES) - 1).wait_for()
    assert jumps.count() == len(CHAPTER_TITLES)
    assert CHAPTER_TITLES[1] in jumps.nth(1).inner_text()

    page.evaluate("() => { const a = document.getElementById('audio'); a.muted = true; return a.play(); }")
    page.wait_for_function("document.getElementById('audio').currentTime > 0.5", timeout=30_000)
    assert page.get_by_role("link", name="Download MP3").get_attribute("href") == audio.get_attribute("src")

    # The transcript lists the spoken sentences and marks the one being spoken.
    page.locator("#transcript li.speaking").wait_for(timeout=30_000)
    transcript = " ".join(page.locator("#transcript li").all_inner_texts())
    assert "small apartment" in transcript

    # A chapter button moves playback to that chapter's start and marks it current.
    jumps.nth(1).click()
    page.wait_for_function(
        "document.querySelector('#chapter-nav li:nth-child(2) button').getAttribute('aria-current') === 'true'",
        timeout=10_000)
    page.screenshot(path=tmp_path / f"{voice}-listening.png", full_page=True)  # to look at by hand
    assert page.script_errors == []


def test_a_finished_chapter_preview_plays(signed_in, celery_worker):
    """A finished chapter's Play button plays its preview and turns into Pause."""
    page = signed_in
    page.get_by_label("Text to narrate").fill(TWO_CHAPTERS)
    voice_radio(page, "male").check()
    page.get_by_role("button", name="Narrate").click()
    play = page.get_by_role("button", name=f"Play {CHAPTER_TITLES[0]}")
    play.wait_for(timeout=NARRATION_TIMEOUT_MS)
    play.click()
    page.get_by_role("button", name=f"Pause {CHAPTER_TITLES[0]}").wait_for(timeout=30_000)
    assert page.script_errors == []


def test_without_server_sent_events_the_page_polls_until_done(signed_in, celery_worker):
    """A proxy that breaks the event stream: the page falls back to polling and still finishes."""
    page = signed_in
    page.route(re.compile(r"/events$"), lambda route: route.abort())
    polls = []
    page.on("request", lambda request: polls.append(request.url)
            if re.search(r"/narrations/[0-9a-f-]{36}$", request.url) else None)
    page.get_by_label("Text to narrate").fill("A short review. It was good.")
    voice_radio(page, "male").check()
    page.get_by_role("button", name="Narrate").click()
    page.locator("#job-status[data-status=done]").wait_for(timeout=NARRATION_TIMEOUT_MS)
    assert len(polls) >= 2, "the page should have polled the job more than once"
    page.wait_for_function("document.getElementById('audio').src.endsWith('/audio.mp3')", timeout=10_000)
    assert page.script_errors == []


def test_a_narration_can_be_canceled_from_the_page(signed_in, celery_worker):
    """Cancel stops the job: the status says so and no player appears."""
    page = signed_in
    page.get_by_label("Text to narrate").fill(TWO_CHAPTERS * 3)
    voice_radio(page, "female").check()
    page.get_by_role("button", name="Narrate").click()
    page.get_by_role("button", name="Cancel narration").click()
    page.locator("#job-status[data-status=canceled]").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Cancel narration").is_hidden()
    assert page.locator("#player").is_hidden()
    assert page.script_errors == []


def test_an_api_error_is_shown_next_to_its_field(signed_in):
    """Text with nothing to say is refused by the API; the message sits by the text box."""
    page = signed_in
    page.get_by_label("Text to narrate").fill("* * *\n\n---\n")
    page.get_by_role("button", name="Narrate").click()
    error = page.locator("#text-error")
    error.filter(has_text=re.compile(r"\w")).wait_for(timeout=10_000)
    assert error.get_attribute("aria-live") == "polite"
    assert page.get_by_label("Text to narrate").get_attribute("aria-invalid") == "true"
    assert page.locator("#job").is_hidden(), "no job should be shown for a refused request"


@pytest.mark.parametrize(("name", "markdown"), [("review.md", True), ("review.txt", False)])
def test_an_opened_file_fills_the_text_box(signed_in, name, markdown):
    """A chosen file is read in the browser; a .md file is sent as Markdown, a .txt one is not."""
    page = signed_in
    page.get_by_label("Or open a file").set_input_files(
        {"name": name, "mimeType": "text/plain", "buffer": TWO_CHAPTERS.encode()})
    page.wait_for_function("document.getElementById('text').value.length > 0", timeout=5_000)
    assert page.get_by_label("Text to narrate").input_value() == TWO_CHAPTERS
    assert page.get_by_label("The text is Markdown").is_checked() is markdown


def test_the_page_works_under_its_strict_content_security_policy(strict_page, page_url, live_key,
                                                                 celery_worker):
    """The page is served with a same-origin-only policy; signing in, the form, the audio, its
    chapters and its transcript track all work under it."""
    page = strict_page
    page.add_init_script("""window.refused = [];
        document.addEventListener("securitypolicyviolation",
          (event) => window.refused.push(event.violatedDirective + " " + event.blockedURI));""")
    response = page.goto(f"{page_url}#key={live_key}")
    directives = dict(part.strip().partition(" ")[::2]
                      for part in response.headers["content-security-policy"].split(";"))
    assert directives["default-src"] == "'self'"
    assert all(set(sources.split()) <= {"'self'", "'none'"} for sources in directives.values()), \
        f"only the page's own origin may be allowed: {directives}"
    page.get_by_label("Private feed address").wait_for(timeout=10_000)
    page.locator("[data-voice-detail]").first.filter(has_text=re.compile(r"\w")).wait_for(timeout=10_000)
    page.get_by_label("Speed").fill("1.5")
    assert page.locator("#speed-value").inner_text() == "1.50×"

    page.get_by_label("Text to narrate").fill("A short review. It was good.")
    voice_radio(page, "male").check()
    page.get_by_role("button", name="Narrate").click()
    page.locator("#job-status[data-status=done]").wait_for(timeout=NARRATION_TIMEOUT_MS)
    page.locator("#chapter-nav button").first.wait_for(timeout=10_000)  # chapters.json fetched
    page.locator("#transcript li").first.wait_for(timeout=10_000)  # the VTT track loaded
    wait_until(lambda: page.evaluate("document.getElementById('audio').readyState") >= 1, 10,
               "the audio's metadata to load")
    assert page.evaluate("window.refused") == []
    assert page.script_errors == []


def test_phone_screenshot_is_not_blank_and_fits(signed_in, tmp_path):
    """At 360×740 the page has no sideways scrolling and draws more than a blank background."""
    from PIL import Image

    page = signed_in
    page.get_by_label("Private feed address").wait_for(timeout=10_000)  # the longest line on the page
    page.locator("[data-voice-detail]").first.filter(has_text=re.compile(r"\w")).wait_for(timeout=10_000)
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways at 360 px: {widths}"
    shot = tmp_path / "phone.png"
    page.screenshot(path=shot, full_page=True)
    image = Image.open(shot).convert("L")
    assert image.width == 360
    colours = image.getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 20, "the screenshot is (nearly) one flat colour"
    darkest, lightest = image.getextrema()
    assert lightest - darkest > 128, "the text has too little contrast with its background"
    assert page.script_errors == []


# Signing in: the key is traded for an HttpOnly cookie and leaves no trace the page's script can read.

def test_a_sign_in_link_leaves_no_key_behind_and_sets_an_httponly_cookie(page, page_url, live_key):
    """After `/#key=…` the address, history, storage and every other request are free of the key."""
    carrying_key = []
    page.on("request", lambda request: carrying_key.append(f"{request.method} {request.url}")
            if live_key in str(request.headers) or live_key in (request.post_data or "") else None)
    page.goto(f"{page_url}#key={live_key}")
    page.get_by_role("button", name="Sign out").wait_for(timeout=10_000)
    assert page.url == page_url and page.evaluate("location.hash") == ""
    assert carrying_key == [f"POST {api(page_url, '/session')}"], "only the sign-in call may carry the key"
    cookie = next(c for c in page.context.cookies() if c["name"] == "narrator_key")
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
    page.get_by_label("Private feed address").wait_for(timeout=10_000)
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
    address = page.get_by_label("Private feed address").input_value()
    page.get_by_role("button", name="Sign out").click()
    page.locator("#sign-in-note").filter(has_text="signed out").wait_for(timeout=10_000)
    assert not any(c["name"] == "narrator_key" for c in page.context.cookies())
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
    page.get_by_label("Private feed address").wait_for(timeout=10_000)
    assert page.script_errors == []


# The podcast feed.

def test_the_feed_address_is_shown_copied_and_serves_rss(signed_in, page_url, http):
    """The default feed's private address is on the page, Copy puts it on the clipboard, and it is RSS."""
    page = signed_in
    feed = http.get(api(page_url, "/feeds"), timeout=10).json()["feeds"][0]
    address = page.get_by_label("Private feed address").input_value()
    assert address == feed["url"]
    assert "podcast app" in page.locator("#podcast").inner_text()

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=page_url.rstrip("/"))
    page.get_by_role("button", name="Copy").click()
    page.locator("#feed-status").filter(has_text="Copied").wait_for(timeout=5_000)
    assert page.evaluate("navigator.clipboard.readText()") == address

    response = requests.get(address, timeout=10)  # what a podcast app does: no key, no cookie
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/rss+xml")
    channel = ElementTree.fromstring(response.content).find("channel")
    assert channel.findtext("title") == feed["title"]
    assert page.script_errors == []


def test_no_feed_sends_feed_null_and_the_narration_stays_out_of_feeds(signed_in, page_url, http,
                                                                     celery_worker):
    """The feed choice defaults to the default feed; "No feed" sends null and no feed lists the job."""
    page = signed_in
    feeds = http.get(api(page_url, "/feeds"), timeout=10).json()["feeds"]
    choice = page.get_by_label("Add to podcast feed")
    assert choice.input_value() == feeds[0]["id"], "the default feed should be chosen"
    no_feed = page.locator("#feed option", has_text="No feed").inner_text()
    choice.select_option(label=no_feed)
    page.get_by_label("Text to narrate").fill("A review for nobody's feed. It was fine.")
    with page.expect_request(lambda request: request.method == "POST"
                             and request.url == api(page_url, "/narrations")) as sent:
        page.get_by_role("button", name="Narrate").click()
    assert sent.value.post_data_json["feed"] is None
    job_id = sent.value.response().json()["id"]
    try:
        assert feed_ids_holding(http, page_url, job_id) == []
    finally:
        http.delete(api(page_url, f"/narrations/{job_id}"), timeout=10)  # spare the worker
    assert page.script_errors == []
