"""The page at `/` in a real headless Chromium, against the real service, Redis and Celery worker.

A person opens the sign-in link `narrator up` prints (`/#key=…`), pastes a two-chapter Markdown
text, narrates it with each voice, watches the chapters' progress arrive, plays the finished MP3
from the page, copies the private podcast feed address, and the page works on a 360 px phone.
The recent list, the job card and the feed card show the same state at every moment, and a job
started elsewhere appears without a reload. Signing in: test_web_sign_in.py; fixtures:
tests/browser.py.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import pytest
import requests
from defusedxml import ElementTree

from tests.browser import api, make_address
from tests.conftest_service import wait_until

pytestmark = pytest.mark.browser

log = logging.getLogger(__name__)

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

# Records, at every change of the page, what each card says: the job card's status, the recent
# list's badge for the job, and the feed card's counts.
WATCH_CARDS = """(jobId) => {
  window.cards = [];
  const note = () => {
    const badge = document.querySelector(`#recent li[data-id="${jobId}"] .badge`);
    const feed = document.getElementById("feed-episodes");
    window.cards.push({
      job: document.getElementById("job-status").dataset.status || "",
      recent: badge ? badge.dataset.status : null,
      active_in_list: document.querySelectorAll(
        '#recent .badge[data-status=queued], #recent .badge[data-status=running]').length,
      coming: Number(feed.dataset.coming), episodes: Number(feed.dataset.episodes) });
  };
  new MutationObserver(note).observe(document.getElementById("main"),
    { subtree: true, childList: true, attributes: true, characterData: true });
  note();
}"""


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


def test_a_job_started_elsewhere_appears_and_the_cards_agree_at_every_moment(signed_in, page_url, http,
                                                                           celery_worker):
    """A narration sent over the API shows up in the open page without a reload; opened from the
    list, its job card, its row in the list and the feed card's counts change together."""
    page = signed_in
    page.locator("#feed-episodes[data-episodes]").wait_for(state="attached", timeout=10_000)
    wait_until(lambda: page.locator("#recent li").count() or page.locator("#recent-empty").is_visible(),
               10, "the recent list to load")
    episodes_before = int(page.locator("#feed-episodes").get_attribute("data-episodes"))
    # Sentences no other test speaks (the sentence cache would make it instant), and enough of
    # them to be watched while it runs.
    text = "\n\n".join(f"# Day {day}\n\nThe keeper counted {day * 7 + 3} ships before noon. "
                         f"By evening the count stood at {day * 11 + 5}." for day in range(1, 9))
    job = http.post(api(page_url, "/narrations"), timeout=10,
                    json={"title": "Sent elsewhere", "markdown": text, "voice": "female"}).json()

    row = page.locator(f'#recent li[data-id="{job["id"]}"]')
    row.wait_for(timeout=15_000)  # the page polls the list; nothing was reloaded
    assert "Sent elsewhere" in row.inner_text()
    page.evaluate(WATCH_CARDS, job["id"])
    row.get_by_role("link").click()
    page.locator("#job-status[data-status=done]").wait_for(timeout=NARRATION_TIMEOUT_MS)
    page.locator(f'#recent li[data-id="{job["id"]}"] .badge[data-status=done]').wait_for(timeout=1_000)
    assert int(page.locator("#feed-episodes").get_attribute("data-episodes")) == episodes_before + 1
    assert page.locator("#feed-episodes").get_attribute("data-coming") == "0"

    cards = page.evaluate("window.cards")
    opened = [card for card in cards if card["job"]]  # from the moment the job card shows it
    assert len({card["job"] for card in opened}) >= 2, f"no live change was seen: {opened}"
    disagreeing = [card for card in opened
                   if card["recent"] != card["job"] or card["coming"] != card["active_in_list"]]
    assert disagreeing == [], f"the cards disagreed {len(disagreeing)} times of {len(opened)}"
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
    page.locator("#signed-in-as").filter(has_text="Signed in as").wait_for(timeout=10_000)
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
    make_address(page)  # the longest line on the page
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


# The podcast feed.

def test_the_feed_address_is_shown_when_made_copied_and_serves_rss(signed_in, page_url, http):
    """The address is kept only as a digest: the page says so, makes a new one on request and
    shows it that once; Copy puts it on the clipboard, and it is RSS (the old one answers 404)."""
    page = signed_in
    status = page.locator("#feed-status").filter(has_text="shown when it was made")
    status.wait_for(timeout=10_000)
    assert page.get_by_label("Private feed address").is_hidden()
    first = make_address(page)
    address = make_address(page)  # a second one replaces the first
    feed = http.get(api(page_url, "/feeds"), timeout=10).json()["feeds"][0]
    assert address.startswith(f"{page_url}feeds/") and feed["url"] is None and feed["url_active"]
    assert "podcast app" in page.locator("#podcast").inner_text()
    assert requests.get(first, timeout=10).status_code == 404

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


def test_a_sign_in_link_for_another_user_asks_before_switching(signed_in, page_url, database, live_key):
    """An attacker's `#key=…` link opened in a signed-in tab: the page names both users and asks;
    saying no keeps the session, saying yes switches (and the page says who is signed in)."""
    from state import users
    from state.models import User

    with database.session() as session:
        name = f"other-{uuid.uuid4().hex[:6]}"
        other_key = users.create_user(session, name)[1]
        mine = session.get(User, users.authenticate(session, live_key)).name
    page = signed_in
    page.locator("#signed-in-as").filter(has_text=f"Signed in as {mine}").wait_for(timeout=10_000)
    asked = []

    def answer(dialog, accept: bool):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.goto(f"{page_url}#key={other_key}")  # the same tab: only the fragment changes
    page.locator("#session-error").filter(has_text=f"still signed in as {mine}").wait_for(timeout=10_000)
    assert mine in asked[0] and name in asked[0] and "Switch" in asked[0]
    assert page.request.get(api(page_url, "/session")).json()["user"]["name"] == mine
    assert page.evaluate("location.hash") == ""

    page.once("dialog", lambda dialog: answer(dialog, True))
    page.goto(f"{page_url}#key={other_key}")
    page.locator("#signed-in-as").filter(has_text=f"Signed in as {name}").wait_for(timeout=10_000)
    assert page.request.get(api(page_url, "/session")).json()["user"]["name"] == name
    assert len(asked) == 2

    page.goto(f"{page_url}#key={other_key}")  # the same user's link again: nothing to ask
    page.wait_for_timeout(1000)
    assert len(asked) == 2
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


def test_a_quote_voice_chosen_on_the_page_marks_the_quotes_in_its_transcript(
        signed_in, page_url, http, celery_worker):
    """"Quotes read by": the quotes of the transcript are shown as the quote voice's, in the
    text's own wording (no voice tags or entities shown)."""
    page = signed_in
    page.get_by_label("Text to narrate").fill(
        "# Quoted\n\nShe & he argue.\n\n> The past is just a story we tell ourselves.\n")
    voice_radio(page, "male").check()
    page.wait_for_function("document.getElementById('quote-voice').options.length > 1",
                           timeout=10_000)
    page.get_by_label("Quotes read by").select_option("en_US-joe-medium")
    page.get_by_role("button", name="Narrate").click()
    quote = page.locator('#transcript li[data-voice="Quote"]')
    quote.first.wait_for(timeout=NARRATION_TIMEOUT_MS)
    assert quote.all_inner_texts() == ["The past is just a story we tell ourselves."]
    narrator = page.locator('#transcript li[data-voice="Narrator"]').all_inner_texts()
    assert "She & he argue." in narrator
    assert not page.script_errors


def test_the_feed_intro_and_outro_are_uploaded_and_removed_from_the_page(signed_in, page_url, http):
    """A person picks an audio file for the intro: the page shows its length and the API has it;
    a file that is not audio is refused with the server's message and the intro stays; Remove
    takes it off. The outro works the same, beside it."""
    from feed_fixtures import clip

    page = signed_in
    state = page.locator("#intro-state")
    state.filter(has_text="none").wait_for(timeout=10_000)
    page.get_by_label("Intro", exact=True).set_input_files(
        {"name": "jingle.wav", "mimeType": "audio/wav", "buffer": clip("wav", 2.5)})
    state.filter(has_text="2.5 s").wait_for(timeout=30_000)
    feed = http.get(api(page_url, "/feeds"), timeout=10).json()["feeds"][0]
    assert feed["intro"]["set"] is True and abs(feed["intro"]["seconds"] - 2.5) < 0.06
    assert feed["outro"]["set"] is False and page.locator("#outro-state").inner_text() == "none"

    page.get_by_label("Intro", exact=True).set_input_files(
        {"name": "cover.png", "mimeType": "audio/mpeg", "buffer": b"\x89PNG\r\n\x1a\n" + bytes(64)})
    status = page.locator("#clips-status").filter(has_text="was not changed")
    status.wait_for(timeout=30_000)
    assert "MP3, WAV, OGG, FLAC or M4A" in status.inner_text()
    assert state.inner_text() == "2.5 s"

    page.get_by_role("button", name="Remove the intro").click()
    state.filter(has_text="none").wait_for(timeout=10_000)
    assert http.get(api(page_url, "/feeds"), timeout=10).json()["feeds"][0]["intro"]["set"] is False
    assert page.get_by_role("button", name="Remove the intro").is_hidden()
    assert page.script_errors == []
