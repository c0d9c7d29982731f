"""The checks on the page, in a real headless Chromium against the real service, Redis and Celery
worker: a narration asked for with the recognition check shows its summary and links check.json;
its names are listed ("5 names; 5 not in your lexicon"), each can be heard, a pronunciation typed
for one goes into the user's lexicon, and "Narrate again" makes a new narration in which only the
sentence with that name is synthesized anew. The page is reloaded before narrating again: the
service makes the new narration from the stored request, so it works for any narration of the
user's, not only one this tab sent. Fixtures: tests/browser.py.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import api
from tests.checks import sentence_cache_entries
from voices import recognizer

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(recognizer.missing() is not None,
                                 reason=f"recognizer not installed: {recognizer.missing()}")]

TIMEOUT_MS = 240_000  # two checked narrations of a short text on a loaded 2-core machine
TEXT = ("In the film, Caleb wins a week at the house of Nathan Bateman. "
        "Nathan lives alone with Kyoko. Caleb meets Ava, and the week goes wrong.")


def job_id_of(page) -> str:
    return page.evaluate("location.hash").removeprefix("#job=")


def test_names_can_be_heard_given_a_pronunciation_and_narrated_again(signed_in, page_url, http,
                                                                     celery_worker):
    page = signed_in
    page.get_by_label("Text to narrate").fill(TEXT)
    page.locator("input[name=voice][value=male]").check()
    page.get_by_label("Check the narration by listening to it").check()
    page.get_by_role("button", name="Narrate").click()

    # The names, as the job's status lists them.
    summary = page.locator("#names-summary")
    summary.filter(has_text=re.compile(r"\d+ names?; \d+ not in your lexicon")).wait_for(timeout=TIMEOUT_MS)
    first = job_id_of(page)
    names = http.get(api(page_url, f"/narrations/{first}"), timeout=10).json()["names"]
    assert summary.inner_text() == names["summary"]
    shown = page.locator("#names-list li").evaluate_all("rows => rows.map((row) => row.dataset.word)")
    assert shown == [name["word"] for name in names["words"]] and "Kyoko" in shown

    # Hear a name (the preview endpoint, in the job's voice).
    page.get_by_role("button", name="Play Kyoko").click()
    # "played" only once the clip played to its end (a refused or broken one says "failed").
    page.locator("li[data-word=Kyoko] .play-name[data-state=played]").wait_for(timeout=60_000)

    # An empty pronunciation is refused beside the name.
    page.get_by_role("button", name="Add pronunciation of Kyoko").click()
    page.locator("li[data-word=Kyoko] .field-error").filter(has_text="Type how to say Kyoko").wait_for()

    # The check's summary once the narration is ready, with its report linked.
    page.locator("#job-check[data-status=done]").wait_for(timeout=TIMEOUT_MS)
    assert re.match(r"Recognition check: \d+\.\d % of \d+ words", page.locator("#job-check-summary").inner_text())
    link = page.get_by_role("link", name="The check's full report (check.json)")
    assert link.get_attribute("href").endswith(f"/narrations/{first}/check.json")
    assert http.get(link.get_attribute("href"), timeout=10).json()["words"] > 20

    # A reload (what this tab sent is forgotten) reopens the job; a typed pronunciation goes
    # into the lexicon.
    page.reload()
    page.get_by_label("Say Kyoko as").fill("kee oh koh")
    page.get_by_role("button", name="Add pronunciation of Kyoko").click()
    page.locator("li[data-word=Kyoko][data-in-lexicon=true]").wait_for(timeout=10_000)
    lexicon = http.get(api(page_url, "/lexicons/pronunciations"), timeout=10).json()
    assert {"grapheme": "Kyoko", "alias": "kee oh koh", "phonemes": None} in lexicon["words"]
    assert lexicon["default"] is True

    # Narrate again: a new job, shown; only the sentence with Kyoko is synthesized anew.
    before = sentence_cache_entries()
    page.get_by_role("button", name="Narrate again with these pronunciations").click()
    page.wait_for_function("(old) => location.hash.startsWith('#job=') && location.hash !== '#job=' + old",
                           arg=first, timeout=30_000)
    second = job_id_of(page)
    page.locator("#job-check[data-status=done]").wait_for(timeout=TIMEOUT_MS)
    again = http.get(api(page_url, f"/narrations/{second}"), timeout=10).json()
    assert again["status"] == "done" and again["check"]["status"] == "done"
    kyoko = next(name for name in again["names"]["words"] if name["word"] == "Kyoko")
    assert kyoko["in_lexicon"] is True
    assert sentence_cache_entries() - before == 1  # "Nathan lives alone with Kyoko."
    assert page.script_errors == []
