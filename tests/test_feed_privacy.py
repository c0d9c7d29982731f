"""Who can reach what (issue 4 §1, §3, §5): private feed tokens, rotation and revocation, the
headers of private URLs, HEAD and Range for podcast apps, user isolation on every route, API keys
and the page's session cookie, and tokens kept out of logs.

HTTP layer with the queue replaced by a recorder, as in tests/test_feeds_api.py.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from datetime import timedelta
from types import SimpleNamespace

import defusedxml.ElementTree as SafeET
import feedparser
import pytest
from werkzeug.http import parse_options_header

from api_fixtures import (BASE_URL, TWO_CHAPTERS, api_key, app, client, client_for, error_of,  # noqa: F401
                          make_user, recorder, submit)
from feed_fixtures import (NS, clip, default_feed, image, local, make_feed, narrate, rss,
                           with_address)

TOKEN_URL = re.compile(r"/feeds/(?P<token>[^/]+)\.xml$")
PRIVATE_PREFIXES = ("/api/v1/narrations", "/api/v1/feeds", "/v1/audio/speech")
BEARER_CHALLENGE = 'Bearer realm="narrator"'


def token_of(feed: dict) -> str:
    return TOKEN_URL.search(feed["url"])["token"]


def podcast_urls(app, feed: dict) -> dict[str, str]:
    """Every URL a podcast app takes from the feed: the feed, cover, enclosure and sidecars."""
    parsed = feedparser.parse(rss(app, feed).data)
    item = parsed.entries[0]
    [enclosure] = [link.href for link in item.links if link.rel == "enclosure"]
    return {"feed": feed["url"], "cover": parsed.feed.image.href, "audio": enclosure,
            "chapters": item.podcast_chapters["url"], "transcript": item.podcast_transcript["url"]}


def fetch(app, url: str, method: str = "GET", **headers):
    """A request with no key, as a podcast app or a web player sends it."""
    return app.test_client().open(local(url), method=method, headers=headers)


@pytest.fixture
def published(app, client) -> dict:
    """The default feed with one finished episode: the feed resource."""
    narrate(app, client)
    return default_feed(client)


# --- tokens ---------------------------------------------------------------------------------------

def test_tokens_carry_at_least_128_random_bits_and_never_repeat(app, client, published):
    from state.feeds import new_token

    rotate = local(published["links"]["token"])
    through_api = [token_of(client.post(rotate).get_json()) for _ in range(100)]
    tokens = through_api + [new_token() for _ in range(1000)]  # what the API calls, 1000 times
    assert len(set(tokens)) == len(tokens), "a token repeated"
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token), token  # URL-safe, nothing to escape
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16


def test_rotation_moves_every_url_and_keeps_the_podcast(app, client, published):
    old = podcast_urls(app, published)
    before = feedparser.parse(rss(app, published).data)
    response = client.post(local(published["links"]["token"]))
    assert response.status_code == 200
    rotated = response.get_json()
    assert rotated["url"] != published["url"] and token_of(published) not in rotated["url"]
    for name, url in old.items():
        assert fetch(app, url).status_code == 404, name
        assert fetch(app, url, "HEAD").status_code == 404, name
    new = podcast_urls(app, rotated)
    for name, url in new.items():
        assert fetch(app, url).status_code == 200, name
        assert token_of(rotated) in url and token_of(published) not in url
    after = feedparser.parse(rss(app, rotated).data)
    assert after.feed.podcast_guid == before.feed.podcast_guid  # the same podcast, moved
    assert [e.id for e in after.entries] == [e.id for e in before.entries]


def test_a_revoked_feed_answers_404_until_a_new_token_is_made(app, client, published):
    old = podcast_urls(app, published)
    revoked = client.delete(local(published["links"]["token"]))
    assert revoked.status_code == 200
    assert revoked.get_json()["url"] is None and revoked.get_json()["artwork"]["url"] is None
    for name, url in old.items():
        assert fetch(app, url).status_code == 404, name
    assert client.get(local(published["links"]["self"])).get_json()["url"] is None
    renewed = client.post(local(published["links"]["token"])).get_json()
    assert renewed["url"] and renewed["url"] != published["url"]
    assert all(fetch(app, url).status_code == 200 for url in podcast_urls(app, renewed).values())
    assert all(fetch(app, url).status_code == 404 for url in old.values())


def test_unknown_and_rotated_tokens_answer_alike(app, client, published):
    client.post(local(published["links"]["token"]))
    rotated = fetch(app, published["url"])
    unknown = fetch(app, f"{BASE_URL}/feeds/{base64.urlsafe_b64encode(bytes(24)).decode()}.xml")
    assert rotated.status_code == unknown.status_code == 404
    assert rotated.get_json() == unknown.get_json()


# --- what every private URL answers ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["feed", "cover", "audio", "chapters", "transcript",
                                  "no such episode", "no such feed"])
def test_private_urls_stay_out_of_caches_referers_and_indexes(app, published, name):
    urls = podcast_urls(app, published) | {
        "no such episode": f"{published['url'][:-4]}/episodes/{uuid.uuid4()}/audio.mp3",
        "no such feed": f"{BASE_URL}/feeds/{'A' * 32}.xml"}
    response = fetch(app, urls[name])
    assert response.status_code == (404 if name.startswith("no such") else 200)
    assert "private" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_the_feed_asks_directories_not_to_list_it(app, published):
    channel = SafeET.fromstring(rss(app, published).data).find("channel")
    assert channel.findtext("podcast:block", namespaces=NS) == "yes"
    assert channel.findtext("itunes:block", namespaces=NS) == "Yes"


@pytest.mark.parametrize("name", ["audio", "cover", "chapters", "transcript"])
def test_head_and_the_first_two_bytes_as_apple_asks(app, published, name):
    url = podcast_urls(app, published)[name]
    whole = fetch(app, url)
    head = fetch(app, url, "HEAD")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(whole.data))
    assert head.headers["Accept-Ranges"] == "bytes"
    first = fetch(app, url, Range="bytes=0-1")
    assert first.status_code == 206 and first.data == whole.data[:2]
    assert first.headers["Content-Range"] == f"bytes 0-1/{len(whole.data)}"


@pytest.mark.parametrize("name", ["chapters", "transcript", "audio", "cover"])
def test_web_players_may_read_the_files_cross_origin(app, published, name):
    response = fetch(app, podcast_urls(app, published)[name], Origin="https://player.example")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers  # the token, not cookies


def test_each_enclosure_downloads_under_its_own_name(app, client):
    narrate(app, client, title="Same title", frequency=330)
    narrate(app, client, title="Same title", frequency=550)
    parsed = feedparser.parse(rss(app, default_feed(client)).data)
    names = set()
    for item in parsed.entries:
        [url] = [link.href for link in item.links if link.rel == "enclosure"]
        disposition = fetch(app, url, "HEAD").headers["Content-Disposition"]
        names.add(parse_options_header(disposition)[1]["filename"])
    assert len(names) == 2 and all(name.endswith(".mp3") for name in names), names


# --- isolation: every route that takes an id ------------------------------------------------------

FIXED_VALUES = {"index": 0, "name": "chapters.json", "extension": "png", "which": "intro"}
ID_ARGUMENTS = {"job_id", "feed_id"}


def snapshot(app, owner) -> dict:
    """Everything of a user's that another user might change: resources, episodes, feeds, art."""
    feeds = [with_address(feed) for feed in owner.get("/api/v1/feeds").get_json()["feeds"]]
    return {"narrations": owner.get("/api/v1/narrations").get_json(),
            "feeds": feeds,
            "episodes": [owner.get(local(f["links"]["episodes"])).get_json() for f in feeds],
            "rss": [rss(app, f).data for f in feeds],
            "art": [owner.get(local(f["links"]["artwork"])).data for f in feeds]}


def id_routes(app) -> list:
    """Every rule of the app that takes a narration or feed id, found in the url_map itself."""
    found = [rule for rule in app.url_map.iter_rules() if ID_ARGUMENTS & set(rule.arguments)]
    assert len(found) >= 20, [rule.rule for rule in found]  # the map was really read
    return found


def value_sets(rule, mine: dict, theirs: dict) -> list[dict]:
    """Argument values that point at the other user's things (mixed with the caller's own)."""
    unknown = set(rule.arguments) - ID_ARGUMENTS - set(FIXED_VALUES) - {"token"}
    if unknown:
        pytest.fail(f"{rule.rule} takes {sorted(unknown)}: teach this test a value for it")
    fixed = {name: value for name, value in FIXED_VALUES.items() if name in rule.arguments}
    combos = []
    for job in theirs["jobs"]:
        combos.append({"job_id": job, "feed_id": theirs["feeds"][0], "token": mine["token"]})
        combos.append({"job_id": job, "feed_id": mine["feeds"][0], "token": mine["token"]})
    for feed in theirs["feeds"]:
        combos.append({"job_id": mine["jobs"][0], "feed_id": feed, "token": theirs["token"]})
    foreign = {*theirs["jobs"], *theirs["feeds"], theirs["token"]}
    chosen = {tuple(sorted({name: combo[name] for name in rule.arguments if name in combo}.items()))
              for combo in combos}
    return [dict(values) | fixed for values in sorted(chosen)
            if foreign & {value for _, value in values}]


def call(app, key: str | None, rule, method: str, values: dict):
    """One request to one rule, with a body that would succeed for the owner."""
    url = app.url_map.bind("narrator.test").build(rule.endpoint, values, method=method)
    client = client_for(app, key) if key else app.test_client()
    if method in ("POST", "PUT", "PATCH"):
        if rule.endpoint == "feeds.upload_artwork":
            return client.open(url, method=method, data=image(1400), content_type="image/png")
        if rule.endpoint == "feeds.upload_clip":
            return client.open(url, method=method, data=clip("mp3", 1.0), content_type="audio/mpeg")
        return client.open(url, method=method, json={"title": "Taken over"})
    return client.open(url, method=method)


def test_another_users_ids_answer_404_on_every_route(app, client, record_figure):
    named = make_feed(client, title="A's named feed")
    done = narrate(app, client)
    queued = submit(client, {**TWO_CHAPTERS, "feed": named["id"]})
    a_feeds = [default_feed(client), named]
    theirs = {"jobs": [done["id"], queued["id"]], "feeds": [f["id"] for f in a_feeds],
              "token": token_of(a_feeds[0])}
    b_key = make_user(app, "intruder")
    b_client = client_for(app, b_key)
    b_done = narrate(app, b_client, frequency=660)
    mine = {"jobs": [b_done["id"]], "feeds": [default_feed(b_client)["id"]],
            "token": token_of(default_feed(b_client))}
    before = snapshot(app, client)
    checked = 0
    for rule in id_routes(app):
        for method in sorted(rule.methods):
            for values in value_sets(rule, mine, theirs):
                response = call(app, b_key, rule, method, values)
                strangers = {**values, **{name: str(uuid.uuid4()) for name in ID_ARGUMENTS
                                          if name in values}}
                unknown = call(app, b_key, rule, method, strangers)
                where = f"{method} {rule.rule} {values}"
                if method == "OPTIONS":
                    assert response.status_code == unknown.status_code, where
                else:
                    assert response.status_code == 404, where
                    if method != "HEAD":
                        assert error_of(response)["code"] == error_of(unknown)["code"], where
                checked += 1
    assert snapshot(app, client) == before
    record_figure("routes taking an id", len(id_routes(app)))
    record_figure("requests by another user, answered like unknown ids", checked)


def test_no_key_is_401_with_a_challenge_on_every_private_route(app):
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PRIVATE_PREFIXES):
            continue
        values = {name: str(uuid.uuid4()) for name in ID_ARGUMENTS if name in rule.arguments}
        values |= {name: value for name, value in FIXED_VALUES.items() if name in rule.arguments}
        for method in sorted(rule.methods - {"OPTIONS"}):
            response = call(app, None, rule, method, values)
            where = f"{method} {rule.rule}"
            assert response.status_code == 401, where
            assert response.headers["WWW-Authenticate"] == BEARER_CHALLENGE, where
            if method != "HEAD":
                assert error_of(response) | {"message": ""} == {
                    "code": "unauthorized", "message": "", "field": "Authorization"}, where
            checked += 1
    assert checked >= 25


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer nk_not-a-key",
                                    "Bearer not-even-prefixed", "Token nk_abc"])
def test_a_wrong_authorization_header_is_401(app, api_key, header):
    response = app.test_client().get("/api/v1/feeds", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BEARER_CHALLENGE


def test_a_revoked_key_is_401_and_a_new_one_works(app, client, api_key):
    from state import users

    assert client.get("/api/v1/feeds").status_code == 200
    with app.extensions["narrator"].db.session() as session:
        user = users.find_user(session, "tester")
        assert users.revoke_keys(session, user) == 1
        new_key = users.issue_key(session, user)
    refused = client.get("/api/v1/feeds")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == BEARER_CHALLENGE
    assert client_for(app, new_key).get("/api/v1/feeds").status_code == 200


def test_the_session_cookie_reads_but_cannot_be_ridden_cross_origin(app, client, api_key):
    browser = app.test_client()
    opened = browser.post("/api/v1/session", headers={"Authorization": f"Bearer {api_key}"})
    assert opened.status_code == 204
    cookie = opened.headers["Set-Cookie"]
    assert cookie.startswith("narrator_session=ns_") and api_key not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert browser.get("/api/v1/feeds").status_code == 200
    job = submit(client)

    for origin in ({"Origin": "https://evil.example"}, {}, {"Origin": "null"}):
        response = browser.post("/api/v1/feeds", json={"title": "Planted"}, headers=origin)
        assert response.status_code == 403 and error_of(response)["code"] == "cross_origin"
        canceled = browser.delete(local(job["links"]["self"]), headers=origin)
        assert canceled.status_code == 403
    assert len(client.get("/api/v1/feeds").get_json()["feeds"]) == 1
    assert client.get(local(job["links"]["self"])).get_json()["status"] == "queued"
    own_page = browser.post("/api/v1/feeds", json={"title": "From the page"},
                            headers={"Origin": BASE_URL})
    assert own_page.status_code == 201
    assert browser.post("/api/v1/session").status_code == 401  # the cookie cannot renew itself
    assert browser.delete("/api/v1/session").status_code == 204
    assert browser.get("/api/v1/feeds").status_code == 401


# --- logs -----------------------------------------------------------------------------------------

def test_feed_requests_log_no_token(app, client, published, caplog):
    caplog.set_level(logging.DEBUG)
    token = token_of(published)
    urls = podcast_urls(app, published)
    etag = rss(app, published).headers["ETag"]
    rss(app, published, **{"If-None-Match": etag})
    for url in urls.values():
        fetch(app, url, "HEAD")
        fetch(app, url, Range="bytes=0-1")
    fetch(app, f"{published['url'][:-4]}/episodes/{uuid.uuid4()}/audio.mp3")  # no such episode
    client.post(local(published["links"]["token"]))
    for url in urls.values():  # now rotated away: the 404 path
        fetch(app, url)
    assert any(record.name == "narration.feed" for record in caplog.records)  # DEBUG was captured
    for record in caplog.records:
        assert token not in record.getMessage(), record
        assert token not in (record.exc_text or "") and token not in str(record.args), record
    assert token not in caplog.text


ACCESS_FORMATS = [
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',  # gunicorn's default
    '%(m)s %(U)s?%(q)s %({raw_uri}e)s %({path_info}e)s %({referer}i)s',  # a custom one
]


@pytest.mark.parametrize("access_format", ACCESS_FORMATS, ids=["default", "custom"])
def test_the_access_log_leaves_tokens_out(caplog, access_format):
    from gunicorn.config import Config

    from service.logs import RedactingLogger

    token = "Zk3hV9cQ2pL7xR1tY8uW4nM6bJ0aS5dF"
    path = f"/feeds/{token}/episodes/{uuid.uuid4()}/audio.mp3"
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", access_format)
    logger = RedactingLogger(config)
    logger.access_log.addHandler(caplog.handler)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "192.0.2.7",
               "HTTP_REFERER": f"https://narrator.example/feeds/{token}.xml",
               "HTTP_USER_AGENT": "gPodder/3.11.1"}
    request = SimpleNamespace(headers=[("Referer", environ["HTTP_REFERER"]),
                                       ("User-Agent", environ["HTTP_USER_AGENT"])])
    response = SimpleNamespace(status="200 OK", sent=1234, headers=[("Content-Length", "1234")])
    logger.access(response, request, environ, timedelta(milliseconds=3))
    [line] = [record.getMessage() for record in caplog.records]
    assert "/feeds/[token]" in line and token not in line, line


# --- the page's session -----------------------------------------------------------------------------

def open_page_session(app, api_key: str):
    """A browser signed in with the key; (its test client, the session id in its cookie)."""
    browser = app.test_client()
    opened = browser.post("/api/v1/session", headers={"Authorization": f"Bearer {api_key}"})
    assert opened.status_code == 204
    return browser, browser.get_cookie("narrator_session").value


def test_the_cookie_holds_a_session_id_stored_only_as_a_digest(app, api_key):
    browser, session_id = open_page_session(app, api_key)
    assert session_id.startswith("ns_") and api_key not in session_id
    assert browser.get("/api/v1/session").get_json()["user"]["name"] == "tester"
    database = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    with open(database, "rb") as handle:
        assert session_id.encode() not in handle.read()


def test_revoking_the_key_ends_its_page_sessions(app, api_key):
    from state import users

    browser, session_id = open_page_session(app, api_key)
    assert browser.get("/api/v1/feeds").status_code == 200
    with app.extensions["narrator"].db.session() as session:
        users.revoke_keys(session, users.find_user(session, "tester"))
    refused = browser.get("/api/v1/feeds")
    assert refused.status_code == 401 and "session has ended" in error_of(refused)["message"]


def test_a_signed_out_session_id_opens_nothing_even_if_copied(app, api_key):
    browser, session_id = open_page_session(app, api_key)
    assert browser.delete("/api/v1/session").status_code == 204
    thief = app.test_client()
    thief.set_cookie("narrator_session", session_id)
    assert thief.get("/api/v1/feeds").status_code == 401


def test_a_session_ends_after_its_lifetime_unused_and_slides_when_used(app, api_key):
    from datetime import timedelta

    from state import users
    from state.models import PageSession, utcnow

    browser, session_id = open_page_session(app, api_key)
    lifetime = app.test_client().post("/api/v1/session",
                                      headers={"Authorization": f"Bearer {api_key}"})
    assert f"Max-Age={int(users.SESSION_LIFETIME.total_seconds())}" in lifetime.headers["Set-Cookie"]
    assert users.SESSION_LIFETIME <= timedelta(days=30)
    db = app.extensions["narrator"].db
    with db.session() as session:  # last used 29 days ago: one day left
        session.get(PageSession, users.digest(session_id)).expires_at = utcnow() + timedelta(days=1)
    used = browser.get("/api/v1/feeds")
    assert used.status_code == 200 and "narrator_session=" in used.headers.get("Set-Cookie", "")
    with db.session(readonly=True) as session:
        left = session.get(PageSession, users.digest(session_id)).expires_at - utcnow()
        assert left > users.SESSION_LIFETIME - timedelta(minutes=1)
    with db.session() as session:  # not used for its whole lifetime
        session.get(PageSession, users.digest(session_id)).expires_at = utcnow() - timedelta(seconds=1)
    assert browser.get("/api/v1/feeds").status_code == 401
