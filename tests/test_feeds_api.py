"""Feeds over HTTP (issue 4): CRUD and validation, artwork, narrations in and out of feeds, which
narrations become episodes, stable numbering, what feedparser reads, hostile text, conditional GET.

HTTP layer with the queue replaced by a recorder; jobs are finished through state.jobs as the
assembly task leaves them, with a real (small, ffmpeg-made) MP3 and sidecars in the media store.
"""

from __future__ import annotations

import functools
import html
import io
import json
import os
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import defusedxml.ElementTree as SafeET
import feedparser
import imageio_ffmpeg
import pytest
from PIL import Image

from api_fixtures import (BASE_URL, TWO_CHAPTERS, api_key, app, client, client_for, error_of,  # noqa: F401
                          finish_chapters, finish_job, make_user, recorder, submit)
from state import jobs
from state.media import narration_key

CHAPTERS_JSON = {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "The Film"},
                                                 {"startTime": 2.0, "title": "Verdict"}]}
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nAmélie is a film.\n"
NS = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
      "podcast": "https://podcastindex.org/namespace/1.0"}
FULL_FEED = {"title": "Film Notes", "description": "Reviews of films, read aloud.",
             "author": "Ada Critic", "owner_email": "ada@example.org", "language": "en-GB",
             "explicit": True, "category": "TV & Film/Film Reviews"}


@functools.cache
def tone_mp3(frequency: int = 440, seconds: float = 1.0) -> bytes:
    """A real mono MP3 made by ffmpeg; a different frequency gives different bytes."""
    return subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi",
         "-i", f"sine=frequency={frequency}:duration={seconds}", "-ac", "1", "-b:a", "64k",
         "-f", "mp3", "-"], check=True, capture_output=True).stdout


def local(url: str) -> str:
    """A link the API gave, as a path for the test client."""
    assert url.startswith(BASE_URL), url
    return url[len(BASE_URL):]


def complete(app, job_id: str, frequency: int = 440) -> bytes:
    """Store the outputs where the workers put them and mark the job done; the MP3 bytes."""
    audio = tone_mp3(frequency)
    media = app.extensions["narrator"].media
    media.put_bytes(narration_key(job_id, "audio.mp3"), audio, "audio/mpeg")
    media.put_bytes(narration_key(job_id, "chapters.json"), json.dumps(CHAPTERS_JSON).encode(),
                    "application/json")
    media.put_bytes(narration_key(job_id, "transcript.vtt"), VTT.encode(), "text/vtt")
    with app.extensions["narrator"].db.session(readonly=True) as session:
        pending = [c.index for c in jobs.get_job(session, job_id).chapters if c.status != "done"]
    finish_job(app, job_id, pending, mp3_size=len(audio))
    return audio


def narrate(app, client, title: str = "A review", frequency: int = 440, **fields) -> dict:
    """A narration submitted with `fields` (e.g. feed=…) and finished; its resource."""
    job = submit(client, {**TWO_CHAPTERS, "title": title, **fields})
    complete(app, job["id"], frequency)
    return client.get(job["links"]["self"]).get_json()


def default_feed(client) -> dict:
    return client.get("/api/v1/feeds").get_json()["feeds"][0]


def make_feed(client, **fields) -> dict:
    response = client.post("/api/v1/feeds", json={"title": "Named", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def entries(client, feed: dict) -> list[dict]:
    return client.get(feed["links"]["episodes"]).get_json()["episodes"]


def rss(app, feed: dict, **headers):
    """GET the feed's private URL as a podcast app does: no key, only the token in the path."""
    return app.test_client().get(local(feed["url"]), headers=headers)


def items(app, feed: dict) -> list:
    """The feed's items as feedparser reads them (and proof it parsed cleanly)."""
    parsed = feedparser.parse(rss(app, feed).data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed.entries


def image(side: int, height: int | None = None, *, kind: str = "PNG", mode: str = "RGB",
          noise: bool = False) -> bytes:
    """Image bytes of the given size, format and colour mode."""
    size = (side, height or side)
    if noise:
        picture = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).convert(mode)
    else:
        picture = Image.new(mode, size, {"RGBA": (200, 40, 40, 120), "CMYK": (0, 80, 80, 0),
                                         "L": 90, "P": 3}.get(mode, (30, 90, 160)))
    out = io.BytesIO()
    picture.save(out, kind, **({"quality": 90} if kind == "JPEG" else {}))
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


# --- feeds: create, read, edit, delete -----------------------------------------------------------

def test_every_user_starts_with_a_default_feed_and_its_private_url(client):
    feeds = client.get("/api/v1/feeds").get_json()["feeds"]
    assert len(feeds) == 1 and feeds[0]["default"] is True
    feed = feeds[0]
    assert feed["url"].startswith(f"{BASE_URL}/feeds/") and feed["url"].endswith(".xml")
    assert feed["episodes"] == 0 and feed["artwork"]["uploaded"] is False
    assert client.get(feed["links"]["self"]).get_json() == feed


def test_create_with_every_field_then_read_and_list(client):
    response = client.post("/api/v1/feeds", json=FULL_FEED)
    assert response.status_code == 201
    feed = response.get_json()
    assert response.headers["Location"] == feed["links"]["self"]
    assert {name: feed[name] for name in FULL_FEED} == FULL_FEED
    assert feed["default"] is False and feed["url"] != default_feed(client)["url"]
    assert client.get(local(feed["links"]["self"])).get_json() == feed
    listed = client.get("/api/v1/feeds").get_json()["feeds"]
    assert [f["id"] for f in listed] == [listed[0]["id"], feed["id"]] and listed[0]["default"]


def test_a_title_is_enough_and_the_rest_has_defaults(client):
    feed = make_feed(client, title="Only a title")
    assert (feed["language"], feed["explicit"], feed["category"]) == ("en", False, "Arts/Books")


INVALID = [  # (body, the field the 422 must name)
    ({"title": ""}, "title"), ({"title": "   "}, "title"), ({"title": 7}, "title"),
    ({"title": "x" * 301}, "title"), ({"description": ["a"]}, "description"),
    ({"description": "x" * 4001}, "description"), ({"author": None}, "author"),
    ({"author": "x" * 301}, "author"), ({"owner_email": "not an address"}, "owner_email"),
    ({"owner_email": "ada@localhost"}, "owner_email"), ({"language": "english!"}, "language"),
    ({"language": ""}, "language"), ({"explicit": "yes"}, "explicit"),
    ({"explicit": 1}, "explicit"), ({"explicit": None}, "explicit"),
    ({"category": "Books"}, "category"), ({"category": "Cooking/Recipes"}, "category"),
    ({"category": ""}, "category"), ({"colour": "blue"}, "colour"),
]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("body, field", INVALID, ids=[f"{f}={b[f]!r}"[:40] for b, f in INVALID])
def test_invalid_fields_are_422_naming_the_field(client, method, body, field):
    target = make_feed(client) if method == "PATCH" else None
    url = local(target["links"]["self"]) if target else "/api/v1/feeds"
    response = client.open(url, method=method, json=body if target else {"title": "T", **body})
    assert response.status_code == 422
    error = error_of(response)
    assert error["field"] == field and field in error["message"]
    if target:
        assert client.get(url).get_json() == target  # nothing changed


def test_create_without_a_title_and_empty_edits_are_refused(client):
    missing = client.post("/api/v1/feeds", json={"description": "no title"})
    assert missing.status_code == 422 and error_of(missing)["field"] == "title"
    feed = make_feed(client)
    assert client.patch(local(feed["links"]["self"]), json={}).status_code == 422
    assert client.post("/api/v1/feeds", data="title", content_type="text/plain").status_code == 415


def test_patch_changes_only_what_is_sent(client):
    feed = make_feed(client, **FULL_FEED)
    edited = client.patch(local(feed["links"]["self"]), json={"title": "Renamed", "explicit": False})
    assert edited.status_code == 200
    changed = {name for name in FULL_FEED if edited.get_json()[name] != feed[name]}
    assert changed == {"title", "explicit"} and edited.get_json()["title"] == "Renamed"


def test_delete_a_named_feed_keeps_its_narrations(app, client):
    feed = make_feed(client)
    job = narrate(app, client, feed=feed["id"])
    queued = submit(client, {**TWO_CHAPTERS, "feed": feed["id"]})
    assert client.delete(local(feed["links"]["self"])).status_code == 204
    assert client.get(local(feed["links"]["self"])).status_code == 404
    assert rss(app, feed).status_code == 404
    complete(app, queued["id"])  # finishing must not trip over the feed it was meant for
    for narration in (job, queued):
        assert client.get(local(narration["links"]["self"])).get_json()["status"] == "done"


def test_the_default_feed_cannot_be_deleted(client):
    feed = default_feed(client)
    response = client.delete(local(feed["links"]["self"]))
    assert response.status_code == 409 and error_of(response)["code"] == "default_feed"
    assert default_feed(client) == feed


# --- artwork --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, content_type, extension", [("PNG", "image/png", "png"),
                                                           ("JPEG", "image/jpeg", "jpg")])
@pytest.mark.parametrize("side", [1400, 3000])
def test_square_artwork_is_stored_and_served_as_sent(app, client, kind, content_type, extension,
                                                     side):
    feed = make_feed(client)
    upload = image(side, kind=kind)
    response = client.put(local(feed["links"]["artwork"]), data=upload, content_type=content_type)
    assert response.status_code == 200, response.get_json()
    artwork = response.get_json()["artwork"]
    assert artwork["uploaded"] is True and artwork["url"].endswith(f"/cover.{extension}")
    served = app.test_client().get(local(artwork["url"]))
    assert served.status_code == 200 and served.mimetype == content_type
    assert served.data == upload
    assert client.get(local(feed["links"]["artwork"])).data == upload
    picture = opened(served.data)
    assert (picture.format, picture.size, picture.mode) == (kind, (side, side), "RGB")


UNUSABLE = {  # name: (make the body, Content-Type, status, what the message says)
    "1000px": (lambda: image(1000), "image/png", 422, "1000×1000"),
    "not-square": (lambda: image(1400, 1500), "image/png", 422, "1400×1500"),
    "3001px": (lambda: image(3001), "image/png", 422, "3001×3001"),
    "gif-as-gif": (lambda: image(1400, kind="GIF"), "image/gif", 415, "image/jpeg"),
    "gif-as-png": (lambda: image(1400, kind="GIF"), "image/png", 422, "GIF"),
    "garbage": (lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(2000), "image/png", 422,
                "not a readable"),
    "truncated": (lambda: image(1400, noise=True)[:5000], "image/png", 422, "not a readable"),
    "9MiB": (lambda: os.urandom(9 << 20), "image/png", 413, ""),
}


@pytest.mark.parametrize("case", UNUSABLE)
def test_unusable_artwork_is_refused_and_the_old_stays(app, client, case):
    make_body, content_type, status, says = UNUSABLE[case]
    feed = make_feed(client)
    response = client.put(local(feed["links"]["artwork"]), data=make_body(),
                          content_type=content_type)
    assert response.status_code == status
    assert says in error_of(response)["message"]
    assert client.get(local(feed["links"]["self"])).get_json()["artwork"] == feed["artwork"]


@pytest.mark.parametrize("kind, mode", [("PNG", "RGBA"), ("PNG", "P"), ("PNG", "L"),
                                        ("JPEG", "CMYK")])
def test_non_rgb_artwork_is_converted_to_an_rgb_png(app, client, kind, mode):
    feed = make_feed(client)
    response = client.put(local(feed["links"]["artwork"]), data=image(1400, kind=kind, mode=mode),
                          content_type=f"image/{kind.lower()}")
    assert response.status_code == 200, response.get_json()
    served = app.test_client().get(local(response.get_json()["artwork"]["url"]))
    picture = opened(served.data)
    assert (served.mimetype, picture.format, picture.size, picture.mode) == (
        "image/png", "PNG", (1400, 1400), "RGB")


def test_a_photo_over_the_text_body_limit_is_accepted(app, client):
    upload = image(1400, kind="JPEG", noise=True)
    assert 1 << 20 < len(upload) < 8 << 20  # bigger than a text request may be
    feed = make_feed(client)
    response = client.put(local(feed["links"]["artwork"]), data=upload, content_type="image/jpeg")
    assert response.status_code == 200, response.get_json()


def test_the_generated_cover_follows_the_title_and_comes_back_after_delete(app, client):
    feed = make_feed(client, title="First Title")
    first = app.test_client().get(local(feed["artwork"]["url"]))
    picture = opened(first.data)
    assert first.mimetype == "image/png" and picture.mode == "RGB"
    assert picture.size[0] == picture.size[1] and 1400 <= picture.size[0] <= 3000
    client.patch(local(feed["links"]["self"]), json={"title": "Second Title"})
    redrawn = app.test_client().get(local(feed["artwork"]["url"]))
    assert redrawn.status_code == 200 and redrawn.data != first.data
    client.put(local(feed["links"]["artwork"]), data=image(1400, kind="JPEG"),
               content_type="image/jpeg")
    back = client.delete(local(feed["links"]["artwork"])).get_json()["artwork"]
    assert back == {"uploaded": False, "url": feed["artwork"]["url"]}
    assert app.test_client().get(local(back["url"])).data == redrawn.data


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
