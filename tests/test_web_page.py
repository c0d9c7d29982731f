"""The page at `/` in a real headless Chromium, against the real service, Redis and Celery worker.

A person pastes a two-chapter Markdown text, narrates it with each voice, watches the chapters'
progress arrive, plays the finished MP3 from the page, and the page works on a 360 px phone.
Playwright drives Debian's `chromium` by its path; no browser is ever downloaded.
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

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

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


@pytest.fixture
def page(browser):
    """A fresh phone-sized tab; script errors on the page fail the test that caused them."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    page = context.new_page()
    page.script_errors = []
    page.on("pageerror", lambda error: page.script_errors.append(str(error)))
    yield page
    context.close()


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


def voice_radio(page, alias: str):
    """The voice choice whose label starts with the alias ("Female" must not match "Male")."""
    return page.get_by_role("radio", name=re.compile(rf"^{alias}\b", re.IGNORECASE))


@pytest.mark.parametrize("voice", ["female", "male"])
def test_narrating_with_each_voice_shows_progress_and_plays(page, page_url, celery_worker, voice,
                                                            record_property, tmp_path):
    """Paste, choose the voice, submit: chapters appear with progress, then the MP3 plays."""
    page.goto(page_url)
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


def test_a_finished_chapter_preview_plays(page, page_url, celery_worker):
    """A finished chapter's Play button plays its preview and turns into Pause."""
    page.goto(page_url)
    page.get_by_label("Text to narrate").fill(TWO_CHAPTERS)
    voice_radio(page, "male").check()
    page.get_by_role("button", name="Narrate").click()
    play = page.get_by_role("button", name=f"Play {CHAPTER_TITLES[0]}")
    play.wait_for(timeout=NARRATION_TIMEOUT_MS)
    play.click()
    page.get_by_role("button", name=f"Pause {CHAPTER_TITLES[0]}").wait_for(timeout=30_000)
    assert page.script_errors == []


def test_without_server_sent_events_the_page_polls_until_done(page, page_url, celery_worker):
    """A proxy that breaks the event stream: the page falls back to polling and still finishes."""
    page.route(re.compile(r"/events$"), lambda route: route.abort())
    polls = []
    page.on("request", lambda request: polls.append(request.url)
            if re.search(r"/narrations/[0-9a-f-]{36}$", request.url) else None)
    page.goto(page_url)
    page.get_by_label("Text to narrate").fill("A short review. It was good.")
    voice_radio(page, "male").check()
    page.get_by_role("button", name="Narrate").click()
    page.locator("#job-status[data-status=done]").wait_for(timeout=NARRATION_TIMEOUT_MS)
    assert len(polls) >= 2, "the page should have polled the job more than once"
    page.wait_for_function("document.getElementById('audio').src.endsWith('/audio.mp3')", timeout=10_000)
    assert page.script_errors == []


def test_a_narration_can_be_canceled_from_the_page(page, page_url, celery_worker):
    """Cancel stops the job: the status says so and no player appears."""
    page.goto(page_url)
    page.get_by_label("Text to narrate").fill(TWO_CHAPTERS * 3)
    voice_radio(page, "female").check()
    page.get_by_role("button", name="Narrate").click()
    page.get_by_role("button", name="Cancel narration").click()
    page.locator("#job-status[data-status=canceled]").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Cancel narration").is_hidden()
    assert page.locator("#player").is_hidden()
    assert page.script_errors == []


def test_an_api_error_is_shown_next_to_its_field(page, page_url):
    """Text with nothing to say is refused by the API; the message sits by the text box."""
    page.goto(page_url)
    page.get_by_label("Text to narrate").fill("* * *\n\n---\n")
    page.get_by_role("button", name="Narrate").click()
    error = page.locator("#text-error")
    error.filter(has_text=re.compile(r"\w")).wait_for(timeout=10_000)
    assert error.get_attribute("aria-live") == "polite"
    assert page.get_by_label("Text to narrate").get_attribute("aria-invalid") == "true"
    assert page.locator("#job").is_hidden(), "no job should be shown for a refused request"


@pytest.mark.parametrize(("name", "markdown"), [("review.md", True), ("review.txt", False)])
def test_an_opened_file_fills_the_text_box(page, page_url, name, markdown):
    """A chosen file is read in the browser; a .md file is sent as Markdown, a .txt one is not."""
    page.goto(page_url)
    page.get_by_label("Or open a file").set_input_files(
        {"name": name, "mimeType": "text/plain", "buffer": TWO_CHAPTERS.encode()})
    page.wait_for_function("document.getElementById('text').value.length > 0", timeout=5_000)
    assert page.get_by_label("Text to narrate").input_value() == TWO_CHAPTERS
    assert page.get_by_label("The text is Markdown").is_checked() is markdown


STRICT_CSP = "default-src 'self'; img-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'"


def test_the_page_works_under_a_strict_content_security_policy(page, page_url):
    """No inline script or style: with only 'self' allowed, nothing is refused and the script runs."""
    def with_csp(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route(page_url, with_csp)
    page.add_init_script("""window.refused = [];
        document.addEventListener("securitypolicyviolation",
          (event) => window.refused.push(event.violatedDirective + " " + event.blockedURI));""")
    page.goto(page_url)
    page.locator("[data-voice-detail]").first.filter(has_text=re.compile(r"\w")).wait_for(timeout=10_000)
    page.get_by_label("Speed").fill("1.5")
    assert page.locator("#speed-value").inner_text() == "1.50×"
    assert page.evaluate("window.refused") == []
    assert page.script_errors == []


def test_phone_screenshot_is_not_blank_and_fits(page, page_url, tmp_path):
    """At 360×740 the page has no sideways scrolling and draws more than a blank background."""
    from PIL import Image

    page.goto(page_url)
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
