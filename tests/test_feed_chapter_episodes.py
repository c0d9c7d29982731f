"""Feeds that publish every chapter as its own episode, the OPML list of a user's feeds, and both
checked by real readers: feedparser, the W3C feed validator (from a local checkout) and gPodder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

from api_fixtures import app, api_key, client, recorder  # noqa: F401
from api_fixtures import error_of
from feed_fixtures import NS, default_feed, local, make_feed, narrate, rss, tone_mp3
from state.media import narration_key

VALIDATOR = os.environ.get("FEEDVALIDATOR_DIR", "/tmp/feedvalidator")
"""A checkout of github.com/w3c/feedvalidator (its src/ folder is used); not vendored."""


def store_chapter_audio(app, job_id: str, frequencies=(330, 550)) -> list[bytes]:
    """Real per-chapter MP3s where the workers publish them."""
    media = app.extensions["narrator"].media
    made = []
    for index, frequency in enumerate(frequencies):
        data = tone_mp3(frequency)
        media.put_bytes(narration_key(job_id, f"chapters/{index}.mp3"), data, "audio/mpeg")
        made.append(data)
    return made


def chapter_feed(app, client, narrations: int = 2) -> tuple[dict, list[dict], list[list[bytes]]]:
    """A feed set to chapters-as-episodes holding `narrations` finished two-chapter narrations."""
    feed = make_feed(client, title="One chapter at a time", chapter_episodes=True,
                     owner_email="owner@example.org")
    assert feed["chapter_episodes"] is True
    jobs, audio = [], []
    for number in range(narrations):
        job = narrate(app, client, title=f"Review {number + 1}", frequency=440 + number,
                      feed=feed["id"])
        audio.append(store_chapter_audio(app, job["id"]))
        jobs.append(job)
    return feed, jobs, audio


def test_each_chapter_is_an_episode_numbered_in_order(app, client):
    feed, jobs, audio = chapter_feed(app, client)
    parsed = feedparser.parse(rss(app, feed).data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    entries = parsed.entries
    assert len(entries) == 4
    # Apple orders by season then episode; date-sorting apps by pubDate: both keep the order.
    order = [(int(e.itunes_season), int(e.itunes_episode)) for e in entries]
    assert order == [(2, 2), (2, 1), (1, 2), (1, 1)]
    dates = [e.published_parsed for e in entries]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == 4
    assert [e.title for e in entries][-2:] == ["Review 1: Verdict", "Review 1: The Film"]
    assert len({e.id for e in entries}) == 4
    # Each enclosure is that chapter's MP3, exactly, under the feed's token (no key needed).
    anonymous = app.test_client()
    for entry in entries:
        season, episode = int(entry.itunes_season), int(entry.itunes_episode)
        enclosure = entry.enclosures[0]
        served = anonymous.get(local(enclosure.href))
        assert served.status_code == 200 and served.mimetype == "audio/mpeg"
        assert served.data == audio[season - 1][episode - 1]
        assert int(enclosure.length) == len(served.data)
        ranged = anonymous.get(local(enclosure.href), headers={"Range": "bytes=0-1"})
        assert ranged.status_code == 206
    # podcast:season carries the narration's title; podcast:episode the chapter's place.
    root = ET.fromstring(rss(app, feed).data)
    item = root.find("channel/item")
    assert item.find("podcast:season", NS).text == "2"
    assert item.find("podcast:season", NS).get("name") == "Review 2"
    assert item.find("podcast:episode", NS).text == "2"


def test_the_default_stays_one_episode_per_narration_and_the_setting_can_change(app, client):
    feed = default_feed(client)
    assert feed["chapter_episodes"] is False
    job = narrate(app, client, title="Whole")
    store_chapter_audio(app, job["id"])
    before = feedparser.parse(rss(app, feed).data).entries
    assert [e.id for e in before] == [job["id"]]
    assert not hasattr(before[0], "itunes_season")
    etag = rss(app, feed).headers["ETag"]
    changed = client.patch(f"/api/v1/feeds/{feed['id']}", json={"chapter_episodes": True})
    assert changed.status_code == 200 and changed.get_json()["chapter_episodes"] is True
    after = rss(app, feed)
    assert after.headers["ETag"] != etag  # apps fetch the new form
    assert len(feedparser.parse(after.data).entries) == 2
    bad = client.patch(f"/api/v1/feeds/{feed['id']}", json={"chapter_episodes": "yes"})
    assert error_of(bad)["field"] == "chapter_episodes" and bad.status_code == 422


def test_chapter_audio_is_only_served_for_published_chapters(app, client):
    feed, jobs, _ = chapter_feed(app, client, narrations=1)
    token_path = local(feed["url"])[:-len(".xml")]
    anonymous = app.test_client()
    assert anonymous.get(f"{token_path}/episodes/{jobs[0]['id']}/chapters/7.mp3").status_code == 404
    other = narrate(app, client, title="Not in this feed", feed=None)
    assert anonymous.get(f"{token_path}/episodes/{other['id']}/chapters/0.mp3").status_code == 404
    assert anonymous.get(f"/feeds/wrong-token/episodes/{jobs[0]['id']}/chapters/0.mp3"
                         ).status_code == 404


def test_a_chapter_without_stored_audio_is_left_out_not_broken(app, client):
    feed = make_feed(client, title="Chapters", chapter_episodes=True)
    job = narrate(app, client, title="Half", feed=feed["id"])
    app.extensions["narrator"].media.put_bytes(narration_key(job["id"], "chapters/1.mp3"),
                                               tone_mp3(660), "audio/mpeg")
    entries = feedparser.parse(rss(app, feed).data).entries
    assert [int(e.itunes_episode) for e in entries] == [2]


def validate(xml: bytes, url: str, tmp_path) -> list[str]:
    """Errors and warnings of the W3C feed validator (run from a local checkout)."""
    source = Path(VALIDATOR) / "src"
    if not (source / "feedvalidator" / "__init__.py").is_file():
        reason = (f"no w3c/feedvalidator checkout at {VALIDATOR} (set FEEDVALIDATOR_DIR to one; "
                  "it needs lxml, html5lib and rdflib)")
        print(reason)
        pytest.skip(reason)
    path = tmp_path / "feed.xml"
    path.write_bytes(xml)
    script = (
        "import sys, feedvalidator\n"
        "from feedvalidator import compatibility\n"
        "from feedvalidator.formatter.text_plain import Formatter\n"
        "events = feedvalidator.validateStream(open(sys.argv[1], 'rb'), firstOccurrenceOnly=1,"
        " base=sys.argv[2])['loggedEvents']\n"
        "events = compatibility.AA(events)\n"
        "print('\\n'.join(Formatter(events)))\n")
    result = subprocess.run([sys.executable, "-c", script, str(path), url], cwd=source,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(source)})
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.strip()]


def test_a_chapter_episode_feed_passes_the_w3c_validator(app, client, tmp_path):
    feed, _, _ = chapter_feed(app, client)
    assert validate(rss(app, feed).data, feed["url"], tmp_path) == []


def test_opml_lists_every_feed_with_a_new_private_address(app, client):
    named = make_feed(client, title="Films & <Friends>")
    old_address = named["url"]
    revoked = make_feed(client, title="Gone")
    client.delete(f"/api/v1/feeds/{revoked['id']}/token")
    response = client.post("/api/v1/feeds.opml")
    assert response.status_code == 200 and response.mimetype == "text/x-opml"
    assert "private" in response.headers["Cache-Control"]
    assert response.headers["Content-Disposition"].startswith("attachment")
    root = ET.fromstring(response.data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    outlines = root.findall("body/outline")
    feeds = client.get("/api/v1/feeds").get_json()["feeds"]
    assert sorted(o.get("text") for o in outlines) == sorted(
        f["title"] for f in feeds if f["url_active"])
    assert "Gone" not in [o.get("title") for o in outlines]
    assert all(o.get("type") == "rss" for o in outlines)
    # Every address in it opens its feed, without a key; the address it replaced is gone.
    for outline in outlines:
        assert app.test_client().get(local(outline.get("xmlUrl"))).status_code == 200
    assert app.test_client().get(local(old_address)).status_code == 404


def test_opml_needs_a_key_and_shows_only_the_callers_feeds(app, client):
    from api_fixtures import client_for, make_user

    assert app.test_client().post("/api/v1/feeds.opml").status_code == 401
    other = client_for(app, make_user(app, "other"))
    mine = ET.fromstring(client.post("/api/v1/feeds.opml").data).findall("body/outline")
    theirs = ET.fromstring(other.post("/api/v1/feeds.opml").data).findall("body/outline")
    assert len(theirs) == 1 and theirs[0].get("xmlUrl") not in {o.get("xmlUrl") for o in mine}


@pytest.mark.slow
def test_gpodder_imports_the_opml_and_subscribes_to_every_feed(app, client, tmp_path):
    from werkzeug.serving import make_server

    from tests.podcast_client import Gpo, ensure_gpo

    executable = ensure_gpo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live = f"http://127.0.0.1:{server.server_port}"
        app.config["BASE_URL"] = live
        feed, _, audio = chapter_feed(app, client, narrations=1)
        make_feed(client, title="Second feed")
        opml = tmp_path / "feeds.opml"
        opml.write_bytes(client.post("/api/v1/feeds.opml").data)
        outlines = ET.parse(opml).findall("body/outline")
        urls = [o.get("xmlUrl") for o in outlines]
        gpo = Gpo(tmp_path / "gpodder", executable=executable)
        result = gpo.run("import", str(opml))
        assert sorted(gpo.subscriptions()) == sorted(urls), result.stdout + result.stderr
        [address] = [o.get("xmlUrl") for o in outlines if o.get("title") == feed["title"]]
        episodes = gpo.episodes(address)
        assert len(episodes) == 2
        files = gpo.download(address)
        assert sorted(f.read_bytes() for f in files) == sorted(audio[0])
    finally:
        server.shutdown()


def test_podcast_season_and_episode_follow_the_podcasting_2_rules():
    """podcast:season: an integer with a name of at most 128 characters; podcast:episode: a
    number. The W3C validator does not know the namespace, so the rules are checked here."""
    from datetime import datetime, timezone

    from narration.feed import EpisodeInfo, FeedInfo, render_feed

    feed = FeedInfo(title="F", description="D", link="https://x.test/", self_url="https://x.test/f.xml",
                    language="en", author="A", owner_name="A", owner_email="a@x.test",
                    category="Arts", image_url="https://x.test/c.png")
    long_title = "Ж" * 300
    item = EpisodeInfo(guid="g", title="t", description="d",
                       published=datetime(2026, 1, 1, tzinfo=timezone.utc),
                       enclosure_url="https://x.test/a.mp3", enclosure_length=10, duration=1.0,
                       episode_number=3, season=12, season_name=long_title)
    root = ET.fromstring(render_feed(feed, [item]))
    season = root.find("channel/item/podcast:season", NS)
    assert season.text == "12" and int(season.text) > 0
    assert season.get("name") == long_title[:128]
    assert float(root.find("channel/item/podcast:episode", NS).text) == 3
    assert root.find("channel/item/itunes:season", NS).text == "12"
    plain = EpisodeInfo(guid="g", title="t", description="d",
                        published=datetime(2026, 1, 1, tzinfo=timezone.utc),
                        enclosure_url="https://x.test/a.mp3", enclosure_length=10, duration=1.0,
                        episode_number=3)
    root = ET.fromstring(render_feed(feed, [plain]))
    assert root.find("channel/item/podcast:season", NS) is None  # one episode per narration


def test_a_feed_whose_episodes_offer_opus_passes_the_w3c_validator(app, client, tmp_path):
    """podcast:alternateEnclosure (with podcast:source) keeps the feed valid RSS."""
    from state import feeds
    from state.models import Job

    feed = make_feed(client, title="Opus too", owner_email="owner@example.org")
    job = narrate(app, client, title="With an Opus copy", feed=feed["id"])
    opus = b"OggS" + bytes(3_000)  # the HTTP layer serves bytes; ffprobe checks real files elsewhere
    app.extensions["narrator"].media.put_bytes(narration_key(job["id"], "audio.opus"), opus,
                                               "audio/ogg")
    with app.extensions["narrator"].db.session() as session:  # as the join task leaves it
        session.get(Job, job["id"]).opus_size = len(opus)
        feeds.job_changed(session, job["id"])
    data = rss(app, feed).data
    item = ET.fromstring(data).find("channel/item")
    assert [a.get("type") for a in item.findall("podcast:alternateEnclosure", NS)] == [
        "audio/mpeg", "audio/ogg"]
    assert validate(data, feed["url"], tmp_path) == []
