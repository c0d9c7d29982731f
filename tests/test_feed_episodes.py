"""Narrations in feeds (issue 4): which become episodes, stable numbers, dates and guids, what
feedparser reads, hostile text, and conditional GET for podcast apps that poll."""

from __future__ import annotations

import html
import time
import uuid
from datetime import datetime, timedelta, timezone

import defusedxml.ElementTree as SafeET
import feedparser
import pytest
from api_fixtures import (  # noqa: F401 (fixtures)
    BASE_URL,
    TWO_CHAPTERS,
    api_key,
    app,
    client,
    client_for,
    error_of,
    finish_chapters,
    make_user,
    recorder,
    submit,
)
from feed_fixtures import (
    CHAPTERS_JSON,
    FULL_FEED,
    NS,
    VTT,
    complete,
    default_feed,
    entries,
    image,
    items,
    local,
    make_feed,
    narrate,
    opened,
    rss,
    tone_mp3,
)

from state import jobs

# --- narrations into feeds ------------------------------------------------------------------------

@pytest.mark.parametrize("choice", ["omitted", "default", "named", None, "none"])
def test_feed_at_submission(client, choice):
    named = make_feed(client)
    fields = {} if choice == "omitted" else {"feed": named["id"] if choice == "named" else choice}
    job = submit(client, {**TWO_CHAPTERS, **fields})
    in_default = [e["narration"] for e in entries(client, default_feed(client))]
    in_named = [e["narration"] for e in entries(client, named)]
    expected = {"omitted": ([job["id"]], []), "default": ([job["id"]], []),
                "named": ([], [job["id"]]), None: ([], []), "none": ([], [])}[choice]
    assert (in_default, in_named) == expected


def test_a_raw_text_narration_takes_its_feed_from_the_query(client):
    named = make_feed(client)
    response = client.post(f"/api/v1/narrations?voice=female&feed={named['id']}",
                           data="A short text. It has two sentences.", content_type="text/plain")
    assert response.status_code == 202, response.get_json()
    assert [e["narration"] for e in entries(client, named)] == [response.get_json()["id"]]
    assert entries(client, default_feed(client)) == []


def test_a_bad_or_foreign_feed_refuses_the_narration(app, client, recorder):
    foreign = default_feed(client_for(app, make_user(app, "other")))["id"]
    for value, status in [("not-a-uuid", 422), (5, 422), (str(uuid.uuid4()), 404),
                          (foreign, 404)]:
        response = client.post("/api/v1/narrations", json={**TWO_CHAPTERS, "feed": value})
        assert response.status_code == status and error_of(response)["field"] == "feed", value
    assert client.get("/api/v1/narrations").get_json()["narrations"] == []
    assert recorder.enqueued == []


def test_put_and_delete_entries_later(app, client):
    named = make_feed(client)
    job = narrate(app, client, feed=None)
    url = local(f"{named['links']['episodes']}/{job['id']}")
    first, again = client.put(url), client.put(url)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["episode"] == again.get_json()["episode"] == 1
    assert [item.id for item in items(app, named)] == [job["id"]]
    assert client.delete(url).status_code == 204
    gone = client.delete(url)
    assert gone.status_code == 404 and error_of(gone)["field"] == "job_id"
    assert items(app, named) == [] and client.get(url.rsplit("/", 2)[0]).get_json()["episodes"] == 0
    assert client.put(local(f"{named['links']['episodes']}/{uuid.uuid4()}")).status_code == 404


def test_failed_and_canceled_narrations_are_not_publishable(app, client):
    named = make_feed(client)
    failed, canceled = submit(client, {**TWO_CHAPTERS, "feed": None}), submit(client)
    with app.extensions["narrator"].db.session() as session:
        jobs.fail_job(session, failed["id"], "engine_error", "The voice broke.")
    client.delete(local(canceled["links"]["self"]))
    for job in (failed, canceled):
        response = client.put(local(f"{named['links']['episodes']}/{job['id']}"))
        assert response.status_code == 409 and error_of(response)["code"] == "not_publishable"


def test_only_done_narrations_become_episodes(app, client):
    feed = default_feed(client)
    done = narrate(app, client, title="Done")
    failed, canceled, running, queued = (submit(client, {**TWO_CHAPTERS, "title": t})
                                         for t in ("Failed", "Canceled", "Running", "Queued"))
    finish_chapters(app, failed["id"], [0])
    with app.extensions["narrator"].db.session() as session:
        jobs.fail_job(session, failed["id"], "engine_error", "The voice broke.")
    client.delete(local(canceled["links"]["self"]))
    finish_chapters(app, running["id"], [0])
    assert [item.id for item in items(app, feed)] == [done["id"]]
    assert client.get(local(feed["links"]["self"])).get_json()["episodes"] == 1
    listed = {e["narration"]: (e["status"], e["episode"]) for e in entries(client, feed)}
    assert listed == {done["id"]: ("done", 1), failed["id"]: ("failed", None),
                      canceled["id"]: ("canceled", None), running["id"]: ("running", None),
                      queued["id"]: ("queued", None)}
    for job in (failed, canceled, running, queued):  # and no enclosure to guess at either
        url = f"{local(feed['url'])[:-4]}/episodes/{job['id']}/audio.mp3"
        assert app.test_client().get(url).status_code == 404


def stamp(app, feed) -> dict:
    """guid → (episode number, pubDate) as the feed shows them."""
    return {item.id: (item.itunes_episode, item.published) for item in items(app, feed)}


def test_numbers_dates_and_guids_stay_put(app, client):
    feed = default_feed(client)
    first = narrate(app, client, title="First", frequency=330)
    second = narrate(app, client, title="Second", frequency=550)
    before = stamp(app, feed)
    assert sorted(number for number, _ in before.values()) == ["1", "2"]
    early = submit(client, {**TWO_CHAPTERS, "title": "Submitted early, finished last"})
    late = narrate(app, client, title="Submitted late, finished first", frequency=660)
    complete(app, early["id"], 770)
    after = stamp(app, feed)
    assert {guid: after[guid] for guid in before} == before
    assert (after[late["id"]][0], after[early["id"]][0]) == ("3", "4")  # in the order they finished
    assert [item.id for item in items(app, feed)] == [early["id"], late["id"], second["id"],
                                                      first["id"]]
    renamed = client.patch(local(first["links"]["self"]), json={"title": "First, renamed"})
    assert renamed.status_code == 200 and renamed.get_json()["title"] == "First, renamed"
    assert stamp(app, feed) == after
    assert {item.id: item.title for item in items(app, feed)}[first["id"]] == "First, renamed"
    client.delete(local(f"{feed['links']['episodes']}/{second['id']}"))
    assert stamp(app, feed) == {guid: value for guid, value in after.items() if guid != second["id"]}


def test_a_removed_episodes_number_is_not_given_to_the_next(app, client):
    """Apps remember "episode 2"; a different narration must not become episode 2 later."""
    feed = default_feed(client)
    narrate(app, client, title="One")
    removed = narrate(app, client, title="Two", frequency=550)
    client.delete(local(f"{feed['links']['episodes']}/{removed['id']}"))
    later = narrate(app, client, title="Three", frequency=660)
    assert stamp(app, feed)[later["id"]][0] == "3"


# --- the RSS document -----------------------------------------------------------------------------

def test_feedparser_reads_every_field(app, client):
    feed = make_feed(client, **FULL_FEED)
    job = narrate(app, client, title="Amélie: a review", feed=feed["id"])
    response = rss(app, feed)
    assert response.mimetype == "application/rss+xml"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    channel, token_base = parsed.feed, feed["url"][:-len(".xml")]
    assert (channel.title, channel.subtitle, channel.language) == (
        FULL_FEED["title"], FULL_FEED["description"], "en-GB")
    assert channel.link == f"{BASE_URL}/" and channel.image.href == feed["artwork"]["url"]
    assert [tag.term for tag in channel.tags] == ["TV & Film", "Film Reviews"]
    assert channel.author == "Ada Critic"
    assert channel.publisher_detail == {"name": "Ada Critic", "email": "ada@example.org"}
    assert uuid.UUID(channel.podcast_guid).version == 5 and channel.podcast_locked == "yes"
    assert {"rel": "self", "href": feed["url"], "type": "application/rss+xml"} in channel.links
    root = SafeET.fromstring(response.data)  # feedparser 6 reads itunes:explicit true as None
    assert root.findtext("channel/itunes:explicit", namespaces=NS) == "true"

    [item] = parsed.entries
    [published] = entries(client, feed)
    assert (item.id, item.title, item.itunes_episode) == (job["id"], "Amélie: a review", "1")
    assert item.summary.startswith("Amélie is a film about a shy waitress in Paris.")
    when = datetime(*item.published_parsed[:6], tzinfo=timezone.utc)
    api_time = datetime.fromisoformat(published["published_at"].replace("Z", "+00:00"))
    assert timedelta(0) <= api_time - when < timedelta(seconds=1)
    [enclosure] = [link for link in item.links if link.rel == "enclosure"]
    assert enclosure == {"rel": "enclosure", "type": "audio/mpeg",
                         "href": f"{token_base}/episodes/{job['id']}/audio.mp3",
                         "length": str(len(tone_mp3()))}
    assert item.itunes_duration == str(round(job["duration"]))
    assert item.image.href == feed["artwork"]["url"]
    assert item.podcast_chapters == {"url": f"{token_base}/episodes/{job['id']}/chapters.json",
                                     "type": "application/json+chapters"}
    assert item.podcast_transcript["url"] == f"{token_base}/episodes/{job['id']}/transcript.vtt"
    assert item.podcast_transcript["type"] == "text/vtt"
    podcast_app = app.test_client()
    assert podcast_app.get(local(item.podcast_chapters["url"])).get_json() == CHAPTERS_JSON
    assert podcast_app.get(local(item.podcast_transcript["url"])).data.decode() == VTT


def test_explicit_false_and_a_long_description_cut_to_apples_limit(app, client):
    feed = make_feed(client, explicit=False, description="é" * 4000)
    root = SafeET.fromstring(rss(app, feed).data)
    assert root.findtext("channel/itunes:explicit", namespaces=NS) == "false"
    description = root.findtext("channel/description")
    assert len(description.encode("utf-8")) <= 4000 and description.endswith("…")


HOSTILE = 'Tom & Jerry <script>alert("x")</script> \'q\' 😀 שלום עולם \x00\x07\x0b\x1b end'
WITHOUT_CONTROLS = 'Tom & Jerry <script>alert("x")</script> \'q\' 😀 שלום עולם end'


def test_hostile_text_still_gives_a_well_formed_feed(app, client):
    feed = make_feed(client, title=HOSTILE, description=HOSTILE, author=HOSTILE)
    body = {"title": HOSTILE, "author": HOSTILE, "voice": "female",
            "chapters": [{"title": HOSTILE, "text": f"{HOSTILE}. A second sentence."}],
            "feed": feed["id"]}
    job = submit(client, body)
    complete(app, job["id"])
    response = rss(app, feed)
    root = SafeET.fromstring(response.data)  # well-formed XML, or this raises
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert " ".join(parsed.feed.title.split()) == WITHOUT_CONTROLS
    assert " ".join(parsed.entries[0].title.split()) == WITHOUT_CONTROLS
    assert parsed.feed.author.split() == WITHOUT_CONTROLS.split()
    description = root.findtext("channel/item/description")
    assert "<script>" not in description  # apps render it as HTML: the text arrives escaped
    assert "<script>alert" in html.unescape(description) and "😀" in description
    cover = app.test_client().get(local(feed["artwork"]["url"]))  # drawn from the hostile title
    assert cover.status_code == 200 and opened(cover.data).size == (1400, 1400)


def test_enclosure_length_is_the_mp3s_byte_count(app, client):
    job = narrate(app, client, frequency=880)
    [item] = items(app, default_feed(client))
    [enclosure] = [link for link in item.links if link.rel == "enclosure"]
    served = app.test_client().get(local(enclosure.href))
    assert served.status_code == 200 and served.mimetype == "audio/mpeg"
    assert served.data == tone_mp3(880)
    assert int(enclosure.length) == len(served.data) == int(served.headers["Content-Length"])
    assert job["id"] in enclosure.href


# --- conditional GET ------------------------------------------------------------------------------

def last_changed_a_minute_ago(app, feed: dict) -> None:
    """Date the feed's last change back, as for a feed polled long after it changed."""
    from state.models import Feed

    with app.extensions["narrator"].db.session() as session:
        row = session.get(Feed, feed["id"])
        row.updated_at = row.updated_at - timedelta(minutes=1)


def test_etag_and_last_modified_answer_304(app, client):
    feed = default_feed(client)
    narrate(app, client)
    last_changed_a_minute_ago(app, feed)
    first = rss(app, feed)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and rss(app, feed).data == first.data
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified},
                    {"If-None-Match": f'"other", {etag}'}):
        again = rss(app, feed, **headers)
        assert again.status_code == 304 and again.data == b"", headers
        assert again.headers["ETag"] == etag
    stale = rss(app, feed, **{"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert stale.status_code == 200 and stale.data == first.data  # If-None-Match decides
    head = app.test_client().head(local(feed["url"]))
    assert head.status_code == 200 and head.headers["ETag"] == etag and head.data == b""


CHANGES = {
    "new episode": lambda app, client, feed, job: narrate(app, client, title="Another"),
    "rename": lambda app, client, feed, job: client.patch(local(job["links"]["self"]),
                                                          json={"title": "New name"}),
    "feed edit": lambda app, client, feed, job: client.patch(local(feed["links"]["self"]),
                                                             json={"description": "Changed."}),
    "artwork": lambda app, client, feed, job: client.put(
        local(feed["links"]["artwork"]), data=image(1400, kind="JPEG"), content_type="image/jpeg"),
    "episode removed": lambda app, client, feed, job: client.delete(
        local(f"{feed['links']['episodes']}/{job['id']}")),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_gives_a_new_etag(app, client, change):
    feed = default_feed(client)
    job = narrate(app, client)
    before = rss(app, feed)
    CHANGES[change](app, client, feed, job)
    after = rss(app, feed, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.data != before.data
    assert after.headers["ETag"] != before.headers["ETag"]


def test_changes_elsewhere_keep_the_etag(app, client):
    feed = default_feed(client)
    narrate(app, client)
    etag = rss(app, feed).headers["ETag"]
    other = make_feed(client)
    narrate(app, client, feed=other["id"])
    client.patch(local(other["links"]["self"]), json={"title": "Elsewhere"})
    narrate(app, client_for(app, make_user(app, "someone-else")))
    assert rss(app, feed, **{"If-None-Match": etag}).status_code == 304


def test_a_change_in_the_same_second_is_not_hidden_from_if_modified_since(app, client):
    """Apps that only send If-Modified-Since must not keep a stale copy: HTTP dates have whole
    seconds, so a change in the same second as the copy the app holds must not answer 304."""
    feed = default_feed(client)
    time.sleep(1.02 - time.time() % 1)  # start just after a second begins: what follows takes ms
    client.patch(local(feed["links"]["self"]), json={"description": "Before."})
    first = rss(app, feed)
    client.patch(local(feed["links"]["self"]), json={"description": "After."})
    modified = first.headers.get("Last-Modified")
    if modified is not None:  # a server may leave the date out in such a second (ETag only)
        again = rss(app, feed, **{"If-Modified-Since": modified})
        assert again.status_code == 200 and b"After." in again.data


def test_an_episode_made_without_an_opus_copy_offers_only_the_mp3(app, client):
    """NARRATOR_OPUS_BITRATE=off (or an episode from before Opus copies): no
    podcast:alternateEnclosure, and the Opus URLs answer 404 saying why."""
    feed = default_feed(client)
    job = narrate(app, client, title="MP3 only")
    assert "opus" not in job["links"]
    item = SafeET.fromstring(rss(app, feed).data).find("channel/item")
    assert item.find("podcast:alternateEnclosure", NS) is None
    assert item.find("enclosure").get("type") == "audio/mpeg"
    podcast_url = f"{local(feed['url'])[:-len('.xml')]}/episodes/{job['id']}/audio.opus"
    assert app.test_client().get(podcast_url).status_code == 404
    response = client.get(f"/api/v1/narrations/{job['id']}/audio.opus")
    assert response.status_code == 404
    assert "NARRATOR_OPUS_BITRATE" in error_of(response)["message"]
