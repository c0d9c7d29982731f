"""A real podcast app against the real service (issue 4 §6): gPodder's `gpo` subscribes to a
private feed of a running service whose narrations a real Celery worker made with the male Piper
voice, downloads the episodes, follows new ones and renames, and fails once the token is rotated.

Skips with a printed reason when gpo is missing and cannot be installed (tests/podcast_client.py).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest_service import wait_until
from tests.podcast_client import FeedUpdateFailed, Gpo, ensure_gpo

pytestmark = pytest.mark.slow  # a real podcast app against a whole service, twice

NARRATION_TIMEOUT = 180.0
PODCAST = "https://podcastindex.org/namespace/1.0"
TEXTS = {
    "Her, briefly": [("The Film", "Her is a film about a lonely writer. He falls for a voice."),
                     ("Verdict", "It is tender and strange. See it.")],
    "Amelie, briefly": [("The Film", "Amelie is a shy waitress in Paris. She helps strangers."),
                        ("Verdict", "It is sweet and bright. Take a friend.")],
    "Paterson, briefly": [("The Film", "Paterson drives a bus and writes poems."),
                          ("Verdict", "Nothing happens, beautifully. Watch it slowly.")],
}


@pytest.fixture(scope="module")
def gpo_executable() -> str:
    """gpo's path, asked for first so a missing gpo skips before a worker is started."""
    return ensure_gpo()


def narrate(http, live_url: str, worker, title: str) -> dict:
    """Submit one short two-chapter review in the male voice and wait until it is done."""
    body = {"title": title, "voice": "male",
            "chapters": [{"title": heading, "text": text} for heading, text in TEXTS[title]]}
    created = http.post(f"{live_url}/api/v1/narrations", json=body, timeout=30)
    assert created.status_code == 202, created.text
    url = created.json()["links"]["self"]

    def finished():
        view = http.get(url, timeout=30).json()
        return view if view["status"] in ("done", "failed", "canceled") else None

    view = wait_until(finished, NARRATION_TIMEOUT, f"the narration {title!r}", interval=0.5)
    assert view["status"] == "done", (view, worker.log_tail())
    return view


@pytest.fixture(scope="module")
def narrations(gpo_executable, live_url, http, celery_worker) -> list[dict]:
    """Two finished narrations in the user's default feed."""
    return [narrate(http, live_url, celery_worker, title) for title in list(TEXTS)[:2]]


def default_feed(http, live_url: str) -> dict:
    """The default feed with a private URL made for it (the API shows a URL only when made)."""
    feed = http.get(f"{live_url}/api/v1/feeds", timeout=30).json()["feeds"][0]
    return http.post(feed["links"]["token"], timeout=30).json()


def assert_same_files(gpo: Gpo, feed_url: str, http, jobs: list[dict]) -> dict[str, Path]:
    """Each job's episode is downloaded, byte for byte the MP3 the API serves; guid → file."""
    files = {episode.guid: episode.file for episode in gpo.episodes(feed_url) if episode.downloaded}
    assert set(files) >= {job["id"] for job in jobs}
    for job in jobs:
        served = http.get(job["links"]["audio"], timeout=30)
        assert served.status_code == 200
        assert files[job["id"]].read_bytes() == served.content, job["title"]
    return files


def test_gpo_subscribes_downloads_and_follows_the_feed(gpo_executable, live_url, http,
                                                       celery_worker, narrations, tmp_path):
    feed = default_feed(http, live_url)
    # Every episode also offers its Opus copy (podcast:alternateEnclosure); gpo must still take
    # the MP3 enclosure, which it does not know about.
    xml = ET.fromstring(http.get(feed["url"], timeout=30).content)
    assert all(item.find(f"{{{PODCAST}}}alternateEnclosure[@type='audio/ogg']") is not None
               for item in xml.iter("item"))
    gpo = Gpo(tmp_path / "gpodder", executable=gpo_executable)
    gpo.subscribe(feed["url"])
    assert gpo.subscriptions() == [feed["url"]]
    listed = {episode.guid: episode for episode in gpo.episodes(feed["url"])}
    assert {guid: e.title for guid, e in listed.items()} == {
        job["id"]: job["title"] for job in narrations}
    for job in narrations:
        episode = listed[job["id"]]
        assert episode.state == "new" and episode.mime_type == "audio/mpeg"
        assert episode.url.startswith(feed["url"][:-len(".xml")] + "/episodes/")

    downloaded = gpo.download(feed["url"])
    files = assert_same_files(gpo, feed["url"], http, narrations)
    names = sorted(path.name for path in downloaded)
    print(f"gpo saved the episodes as {names}")
    assert len(set(names)) == len(narrations)  # no two episodes collide on one file name

    third = narrate(http, live_url, celery_worker, list(TEXTS)[2])
    assert gpo.update(feed["url"]) == 1
    assert [e.guid for e in gpo.episodes(feed["url"]) if e.state == "new"] == [third["id"]]
    gpo.download(feed["url"])
    files = assert_same_files(gpo, feed["url"], http, [*narrations, third])
    assert len({path.name for path in files.values()}) == 3

    renamed = http.patch(narrations[0]["links"]["self"], json={"title": "Her, at length"},
                         timeout=30)
    assert renamed.status_code == 200, renamed.text
    assert gpo.update(feed["url"]) == 0
    after = gpo.episodes(feed["url"])
    assert sorted(e.guid for e in after) == sorted(j["id"] for j in [*narrations, third])
    assert {e.guid: e.title for e in after}[narrations[0]["id"]] == "Her, at length"
    assert all(e.downloaded for e in after)  # the renamed episode is not offered again


def test_gpo_fails_on_a_rotated_token_and_follows_the_new_url(gpo_executable, live_url, http,
                                                             narrations, tmp_path):
    created = http.post(f"{live_url}/api/v1/feeds", json={"title": "Rotated later"}, timeout=30)
    assert created.status_code == 201, created.text
    feed = created.json()
    for job in narrations:
        put = http.put(f"{feed['links']['episodes']}/{job['id']}", timeout=30)
        assert put.status_code == 201, put.text
    gpo = Gpo(tmp_path / "gpodder", executable=gpo_executable)
    gpo.subscribe(feed["url"])
    assert gpo.update(feed["url"]) == len(narrations)  # gpo counts episodes not yet downloaded

    rotated = http.post(feed["links"]["token"], timeout=30).json()
    with pytest.raises(FeedUpdateFailed) as failure:
        gpo.update(feed["url"])
    print(f"gpo on the rotated-away URL: {failure.value.reason}")
    assert "NotFound" in failure.value.reason or "404" in failure.value.reason

    gpo.subscribe(rotated["url"])  # what the user does with the new address
    assert {e.guid for e in gpo.episodes(rotated["url"])} == {job["id"] for job in narrations}
