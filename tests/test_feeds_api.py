"""Feeds over HTTP (issue 4): create, read, edit, delete, validation, and artwork (uploaded or
drawn). The queue is replaced by a recorder; see feed_fixtures for how narrations are finished."""

from __future__ import annotations

import os

import pytest
from api_fixtures import BASE_URL, TWO_CHAPTERS, api_key, app, client, error_of, recorder, submit  # noqa: F401 (fixtures)
from feed_fixtures import (
    FULL_FEED,
    complete,
    default_feed,
    image,
    local,
    make_feed,
    narrate,
    opened,
    rss,
    shown,
    with_address,
)

# --- feeds: create, read, edit, delete -----------------------------------------------------------

def test_every_user_starts_with_a_default_feed_whose_url_is_shown_only_when_made(app, client):
    feeds = client.get("/api/v1/feeds").get_json()["feeds"]
    assert len(feeds) == 1 and feeds[0]["default"] is True
    feed = feeds[0]
    # Only the token's digest is stored: the URL exists, but no answer can show it again.
    assert feed["url"] is None and feed["url_active"] is True and feed["artwork"]["url"] is None
    assert feed["episodes"] == 0 and feed["artwork"]["uploaded"] is False
    assert client.get(feed["links"]["self"]).get_json() == feed
    made = client.post(local(feed["links"]["token"])).get_json()
    assert made["url"].startswith(f"{BASE_URL}/feeds/") and made["url"].endswith(".xml")
    assert app.test_client().get(local(made["url"])).status_code == 200
    assert client.get(feed["links"]["self"]).get_json()["url"] is None  # shown that once


def test_no_feed_token_is_stored_in_clear(app, client):
    made = make_feed(client, title="Secret")
    token = made["url"].rsplit("/", 1)[1].removesuffix(".xml")
    database = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    with open(database, "rb") as handle:
        assert token.encode() not in handle.read()


def test_create_with_every_field_then_read_and_list(client):
    response = client.post("/api/v1/feeds", json=FULL_FEED)
    assert response.status_code == 201
    feed = with_address(response.get_json())
    assert response.headers["Location"] == feed["links"]["self"]
    assert {name: feed[name] for name in FULL_FEED} == FULL_FEED
    assert feed["default"] is False and feed["url"] != default_feed(client)["url"]
    assert shown(client, feed["links"]["self"]) == feed
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
        assert shown(client, url) == target  # nothing changed


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
    artwork = with_address(response.get_json())["artwork"]
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
    "3001px": (lambda: image(3001), "image/png", 413, "at most 3000×3000 px; this one is 3001×3001"),
    "gif-as-gif": (lambda: image(1400, kind="GIF"), "image/gif", 415, "image/jpeg"),
    "gif-as-png": (lambda: image(1400, kind="GIF"), "image/png", 422, "GIF"),
    "webp-as-jpeg": (lambda: image(1400, kind="WEBP"), "image/jpeg", 422, "JPEG or PNG"),
    "bmp-as-png": (lambda: image(1400, kind="BMP"), "image/png", 422, "JPEG or PNG"),
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
    assert shown(client, feed["links"]["self"])["artwork"] == feed["artwork"]


def test_another_users_feed_answers_404_before_the_upload_is_looked_at(app, client):
    from api_fixtures import client_for, make_user

    feed = make_feed(client)
    intruder = client_for(app, make_user(app, "intruder"))
    response = intruder.put(local(feed["links"]["artwork"]), data=b"not an image",
                            content_type="image/png")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("kind, mode", [("PNG", "RGBA"), ("PNG", "P"), ("PNG", "L"),
                                        ("JPEG", "CMYK")])
def test_non_rgb_artwork_is_converted_to_an_rgb_png(app, client, kind, mode):
    feed = make_feed(client)
    response = client.put(local(feed["links"]["artwork"]), data=image(1400, kind=kind, mode=mode),
                          content_type=f"image/{kind.lower()}")
    assert response.status_code == 200, response.get_json()
    served = app.test_client().get(local(with_address(response.get_json())["artwork"]["url"]))
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
    back = with_address(client.delete(local(feed["links"]["artwork"])).get_json())["artwork"]
    assert back == {"uploaded": False, "type": "image/png", "url": feed["artwork"]["url"]}
    assert app.test_client().get(local(back["url"])).data == redrawn.data
