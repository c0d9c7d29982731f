"""The page's voice and feed controls in a real headless Chromium against the real app: hear a
voice's sample, make a blend and narrate with it, set a feed to publish chapters as episodes,
download the OPML. Voices and feeds need no worker, so none is started.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import api  # the page fixtures come from the tests.browser plugin

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def voice_row(page, voice_id: str):
    return page.locator(f'#voice-list li[data-voice="{voice_id}"]')


def test_every_voice_has_a_play_button_that_plays_its_sample(signed_in, http, page_url):
    page = signed_in
    catalogue = http.get(api(page_url, "/voices"), timeout=30).json()["voices"]
    voice_row(page, "en_US-joe-medium").wait_for(timeout=10_000)
    rows = page.locator("#voice-list li")
    assert rows.count() == len(catalogue)
    for voice in catalogue:
        assert voice_row(page, voice["id"]).get_by_role("button", name=re.compile("Play a sample")).count() == 1
    with page.expect_response(re.compile(r"/voices/en_US-joe-medium/sample\.mp3")) as answered:
        voice_row(page, "en_US-joe-medium").get_by_role("button", name=re.compile("Play a sample")).click()
    assert answered.value.status in (200, 206)
    page.wait_for_function(
        "() => { const a = document.getElementById('voice-sample'); return a.currentTime > 0.2; }",
        timeout=60_000)
    assert page.locator("#voice-status").inner_text().startswith("Playing")
    assert not page.script_errors


def test_a_blend_made_on_the_page_is_listed_measured_and_chosen_for_narration(signed_in, http,
                                                                              page_url):
    page = signed_in
    voice_row(page, "jf_nezumi").wait_for(timeout=10_000)
    page.select_option("#blend-first", "jf_gongitsune")
    page.select_option("#blend-second", "jf_nezumi")
    page.fill("#blend-weight", "0.6")
    page.fill("#blend-id", "page-blend")
    page.get_by_role("button", name="Make voice").click()
    voice_row(page, "page-blend").wait_for(timeout=180_000)
    assert re.search(r"Made page-blend: female, median pitch \d+ Hz",
                     page.locator("#voice-status").inner_text())
    mine = {v["id"]: v for v in http.get(api(page_url, "/voices"), timeout=30).json()["voices"]}
    assert mine["page-blend"]["blend"] == pytest.approx({"jf_gongitsune": 0.6, "jf_nezumi": 0.4})
    assert str(round(mine["page-blend"]["sample"]["median_pitch_hz"])) in \
        voice_row(page, "page-blend").inner_text()
    voice_row(page, "page-blend").get_by_role("button", name=re.compile("for the next narration")).click()
    assert page.locator('input[name=voice][value="page-blend"]').is_checked()
    # The form keeps two different voices chosen after a reset.
    assert page.input_value("#blend-first") != page.input_value("#blend-second")
    # A label the pitch contradicts is refused in words, next to the form.
    page.select_option("#blend-first", "jf_gongitsune")
    page.select_option("#blend-second", "jf_nezumi")
    page.fill("#blend-id", "deep-blend")
    page.select_option("#blend-gender", "male")
    page.get_by_role("button", name="Make voice").click()
    page.wait_for_function("() => document.getElementById('blend-error').textContent", timeout=180_000)
    assert re.search(r"median pitch of \d+ Hz", page.locator("#blend-error").inner_text())
    voice_row(page, "page-blend").get_by_role("button", name=re.compile("Delete")).click()
    voice_row(page, "page-blend").wait_for(state="detached", timeout=10_000)
    assert not page.script_errors


def test_the_feed_can_publish_chapters_as_episodes_and_offers_its_opml(signed_in, http, page_url):
    page = signed_in
    box = page.get_by_label("Publish each chapter as its own episode")
    box.wait_for(timeout=10_000)
    assert not box.is_checked()
    with page.expect_response(lambda r: r.request.method == "PATCH") as answered:
        box.check()
    assert answered.value.status == 200
    feed = http.get(api(page_url, "/feeds"), timeout=30).json()["feeds"][0]
    assert feed["chapter_episodes"] is True
    page.reload()
    page.get_by_label("Publish each chapter as its own episode").wait_for(timeout=10_000)
    page.wait_for_function("() => document.getElementById('chapter-episodes').checked", timeout=10_000)
    # The OPML makes a new address for each feed (only digests are kept): the page asks first.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_download() as download:
        page.locator("#opml-link").click()
    opml = open(download.value.path(), encoding="utf-8").read()
    assert opml.lstrip().startswith("<?xml") and "/feeds/" in opml and "<outline" in opml
    assert asked and "new address" in asked[0]
    assert not page.script_errors


def test_the_form_offers_a_second_voice_for_quotes_and_sends_it(signed_in, http, page_url):
    page = signed_in
    page.wait_for_function("() => document.getElementById('quote-voice').options.length > 1",
                           timeout=10_000)
    voices = http.get(api(page_url, "/voices"), timeout=30).json()["voices"]
    options = page.eval_on_selector_all("#quote-voice option", "all => all.map(o => o.value)")
    assert options[0] == "" and page.input_value("#quote-voice") == ""  # "The same voice"
    assert set(options[1:]) == {v["id"] for v in voices if v["installed"] is not False}
    page.fill("#text", "He says “I have never loved anyone the way I loved you,” and leaves.")
    page.check('input[name=voice][value="male"]')
    page.select_option("#quote-voice", "jf_gongitsune")
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.endswith("/narrations")) as answered:
        page.get_by_role("button", name="Narrate").click()
    assert answered.value.status == 202
    assert answered.value.json()["quote_voice"] == "jf_gongitsune"
    assert not page.script_errors
