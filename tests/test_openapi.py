"""The OpenAPI document matches the app: the same paths and methods, and schemathesis finds no
5xx and no response that contradicts the document (status codes, content types, bodies, headers).

Schemathesis runs against the WSGI app in-process (real SQLite file and media folder, the queue
replaced by a recorder), signed in as a real user. Generated ids and headers are now and then
swapped for real ones (the caller's narrations and feeds, another user's, a real feed token with
a published episode whose files are in the media store, real ETags and byte ranges), so the
operations run on data that exists and not only on ids that answer 404. Examples per operation
are bounded so the run stays well under 2 min.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from datetime import datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image
from werkzeug.http import http_date
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from api_fixtures import (TWO_CHAPTERS, QueueRecorder, app_config, recorded_app, client_for, finish_job,
                          make_user, submit)
from narration.document import Metadata
from narration.sidecars import chapters_json, webvtt
from narration.timeline import ChapterMark, Cue
from service import create_app
from service.api.openapi import openapi_document
from feed_fixtures import clip
from state.media import narration_key
from state.models import Job

API_PREFIXES = ("/api/", "/v1/", "/feeds/")
MAX_EXAMPLES = 10
AUDIO = os.urandom(5_000)  # the HTTP layer serves bytes; they need not decode as MP3
RANGES = ["bytes=0-1", "bytes=100-", "bytes=-100", "bytes=4999-4999", "bytes=99999999-",
          "bytes=0-1,10-20"]

SEEDS: dict = {}
"""Real values in the app under test, filled by `api_app` before any case is generated:
`key` (the caller's API key), `narrations` and `feeds` (the caller's, then another user's),
`token`, `episodes` (for podcast URLs), `hidden` (ids a request must never find in that
context), `headers` {name: [real values]}, `artwork` (an image podcast apps accept)."""


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    # Speech needs the workers, which this app has not (503, a documented answer); long inputs
    # are refused first (422). Quotas
    # are off (as rate limits are in app_config): generated submissions would soon reach them
    # and then mostly test the 429 (tests/test_limits.py tests that).
    app = recorded_app(tmp_path_factory.mktemp("openapi"), QueueRecorder(),
                       EVENTS_MAX_SECONDS=0.5, SPEECH_MAX_INPUT=120,
                       QUOTA_CHARS_PER_DAY=0, QUOTA_ACTIVE_JOBS=0)
    seed(app)
    yield app
    SEEDS.clear()
    app.extensions["narrator"].db.dispose()


def seed(app) -> None:
    """A publisher whose default feed has one episode (files stored) and one narration still
    queued; the caller (the user schemathesis signs in as) has a done narration in its default
    feed, a queued one in no feed, and a named feed."""
    publisher, caller = client_for(app, make_user(app, "publisher")), make_user(app, "caller")
    episode, pending = done_narration(app, publisher), submit(publisher)["id"]
    mine = client_for(app, caller)
    my_done = done_narration(app, mine)
    my_queued = submit(mine, {**TWO_CHAPTERS, "feed": None})["id"]
    my_named = mine.post("/api/v1/feeds", json={"title": "Named"}).get_json()["id"]
    my_default = mine.get("/api/v1/feeds").get_json()["feeds"][0]["id"]
    assert mine.put("/api/v1/lexicons/films", data="Caleb\t/ˈkeɪləb/\n".encode(),
                    content_type="text/plain").status_code == 201
    their_feed = publisher.get("/api/v1/feeds").get_json()["feeds"][0]
    their_feed = publisher.post(f"/api/v1/feeds/{their_feed['id']}/token").get_json()  # shown once
    token = their_feed["url"].rsplit("/", 1)[1].removesuffix(".xml")
    rss = app.test_client().get(f"/feeds/{token}.xml")
    assert rss.status_code == 200, rss.get_json()
    media = app.extensions["narrator"].media
    etags = [media.stat(narration_key(episode, name)).etag
             for name in ("audio.mp3", "chapters.json", "transcript.vtt")]
    SEEDS.update(
        key=caller, token=token, artwork=square_png(1400), clip=clip("mp3", 1.0),
        narrations=[my_done, my_queued, episode], feeds=[my_default, my_named, their_feed["id"]],
        episodes=[episode, episode, pending, my_done],
        hidden={"/api/": {episode, pending, their_feed["id"]}, "/feeds/": {pending, my_done}},
        headers={"Range": RANGES, "If-None-Match": [rss.headers["ETag"], *etags, "*"],
                 "If-Modified-Since": [http_date(parse_date(their_feed["updated_at"]))]})


def square_png(side: int) -> bytes:
    """Artwork podcast apps accept: a square RGB PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (200, 60, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def done_narration(app, client) -> str:
    """A two-chapter narration moved to done, with its MP3s, chapters and transcript stored."""
    job_id = submit(client, TWO_CHAPTERS)["id"]
    marks = [ChapterMark("The Film", 0.0, 2.0), ChapterMark("Verdict", 2.0, 4.0)]
    files = {"audio.mp3": AUDIO,
             "chapters.json": json.dumps(chapters_json(marks, Metadata(title="Amélie"))).encode(),
             "transcript.vtt": webvtt([Cue(0.2, 1.8, "Amélie is a film."),
                                       Cue(2.1, 3.9, "See it.")]).encode(),
             "chapters/0.mp3": AUDIO[:2_000], "chapters/1.mp3": AUDIO[2_000:],
             "audio.opus": AUDIO[:2_500]}
    for name, data in files.items():
        app.extensions["narrator"].media.put_bytes(narration_key(job_id, name), data)
    finish_job(app, job_id, [0, 1], mp3_size=len(AUDIO))
    with app.extensions["narrator"].db.session() as session:  # as the join leaves an Opus copy
        session.get(Job, job_id).opus_size = len(files["audio.opus"])
    return job_id


# Loaded from the same document the app serves (test_the_document_is_served_as_json checks that);
# schemathesis.pytest.from_fixture would be neater but fails under pytest 9 (it sets a node's
# removed `_nodeid`).
schema = schemathesis.openapi.from_dict(openapi_document())


def real_path_values(path: str, name: str) -> list:
    """Real values for one path parameter of an operation (repeats weigh the draw)."""
    if path.startswith("/feeds/"):
        return {"token": [SEEDS["token"]] * 2, "narration": SEEDS["episodes"]}.get(name, [])
    if name == "id":
        return SEEDS["feeds" if path.startswith("/api/v1/feeds/") else "narrations"]
    return {"narration": SEEDS["narrations"], "index": [0, 1], "name": ["films"]}.get(name, [])


@schema.hook
def flatmap_path_parameters(context, parameters):
    """Swap in a real value or keep the generated one, per parameter (real ones first, so
    Hypothesis's simplest draws hit real data)."""
    if not SEEDS:  # explicit examples are drawn while collecting, before the app exists
        return st.just(parameters)
    parameters = parameters or {}
    return st.fixed_dictionaries({
        name: st.sampled_from([*real_path_values(context.operation.path, name), value])
        for name, value in parameters.items()})


@schema.hook
def flatmap_headers(context, headers):
    """Keep the generated conditional and Range headers or swap in real ones."""
    if not SEEDS:
        return st.just(headers)
    headers = dict(headers or {})
    declared = {parameter.name for parameter in context.operation.headers}
    swaps = {name: st.sampled_from([*values, headers.get(name)])
             for name, values in SEEDS["headers"].items() if name in declared}
    return st.fixed_dictionaries(swaps).map(
        lambda chosen: {**headers, **{k: v for k, v in chosen.items() if v is not None}})


# Clips are sent as they are, whatever their audio type says (the server reads the content).
schemathesis.serializer.alias(["audio/mpeg", "audio/wav", "audio/ogg", "audio/flac", "audio/mp4"],
                              "application/octet-stream")


@schema.hook
def flatmap_body(context, body):
    """Now and then upload real artwork (a square 1400 px PNG) or a real intro or outro (a
    second of MP3) instead of generated bytes."""
    if not SEEDS or not context.operation.path.endswith(("/artwork", "/intro", "/outro")):
        return st.just(body)
    real = "artwork" if context.operation.path.endswith("/artwork") else "clip"
    return st.sampled_from([SEEDS[real], body])


def hidden_ids_stay_hidden(ctx, response, case) -> None:
    """Another user's ids (and, on podcast URLs, narrations that are no episode of the feed)
    are never found."""
    prefix = "/feeds/" if case.operation.path.startswith("/feeds/") else "/api/"
    used = set((case.path_parameters or {}).values()) & SEEDS["hidden"][prefix]
    if used and response.status_code < 400:
        raise AssertionError(f"{case.operation.label} answered {response.status_code} for "
                             f"{sorted(used)}, which it must not find")


def routed_operations(app) -> set[tuple[str, str]]:
    """(path with parameters as `{}`, method) for every API route the app answers."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIXES):
            continue
        for path in expand_any(rule.rule):
            for method in rule.methods - {"OPTIONS"}:
                operations.add((re.sub(r"<[^>]+>", "{}", path), method.lower()))
    return operations


def expand_any(rule: str) -> list[str]:
    """`…/<any('a', 'b'):name>` is documented as two paths, `…/a` and `…/b`."""
    found = re.search(r"<any\(([^)]*)\):\w+>", rule)
    if not found:
        return [rule]
    options = [option.strip(" '\"") for option in found.group(1).split(",")]
    return [rule[:found.start()] + option + rule[found.end():] for option in options]


def test_the_document_describes_every_route_and_only_those(api_app):
    documented = {(re.sub(r"\{[^}]+\}", "{}", path), method)
                  for path, item in openapi_document()["paths"].items()
                  for method in item if method in {"get", "head", "post", "put", "delete", "patch"}}
    routed = routed_operations(api_app)
    # Flask answers HEAD for every GET; the document lists HEAD only where clients rely on it.
    routed_without_implicit_head = {(p, m) for p, m in routed
                                    if m != "head" or (p, "head") in documented}
    assert documented == routed_without_implicit_head
    assert ("/feeds/{}.xml", "head") in documented  # podcast apps probe with HEAD


def test_the_document_is_valid_openapi_3_1():
    schema.validate()
    # A comma inside unquoted YAML flow text (`{description: a, b}`) silently splits the text
    # into a key without value; the meta-schema allows that in schemas, so look for it.
    assert not list(split_flow_text(openapi_document()))


def split_flow_text(node, path: str = ""):
    """Paths of keys with spaces and no value: text that a comma cut in two."""
    if isinstance(node, list):
        node = dict(enumerate(node))
    for key, value in node.items() if isinstance(node, dict) else []:
        if value is None and " " in str(key):
            yield f"{path}/{key}"
        yield from split_flow_text(value, f"{path}/{key}")


def test_the_document_is_served_as_json(api_app):
    response = api_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == openapi_document()
    assert response.get_json()["openapi"].startswith("3.1")


def test_the_document_holds_no_secrets():
    text = json.dumps(openapi_document(), ensure_ascii=False)
    assert not re.search(r"password|secret|aws_|redis://[^ ]*@", text.lower())
    # API keys and feed tokens in examples are obvious placeholders, never real-looking ones.
    keys = re.findall(r"nk_[A-Za-z0-9_-]+", text)
    tokens = re.findall(r"/feeds/([A-Za-z0-9_-]{8,})", text)
    assert keys and tokens
    assert all("EXAMPLE" in found for found in keys + tokens), keys + tokens


def test_operations_need_a_key_exactly_where_the_document_says(api_app):
    document, anonymous = openapi_document(), api_app.test_client()
    unknown = "0b7c9e1a-8f1e-4a51-9d0c-3d1f2e6a7b8c"
    filler = {"id": unknown, "narration": unknown, "token": "EXAMPLE-FEED-TOKEN",
              "extension": "png", "index": "0", "name": "films"}
    public = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            response = anonymous.open(re.sub(r"\{(\w+)\}", lambda m: filler[m.group(1)], path),
                                      method=method.upper())
            if operation.get("security", document["security"]):
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.headers["WWW-Authenticate"] == 'Bearer realm="narrator"'
            else:
                assert response.status_code != 401, (method, path)
                public.append(f"{method.upper()} {path}")
    assert all(name.split(" ", 1)[1].startswith(("/feeds/", "/api/v1/voices", "/api/v1/openapi"))
               for name in public if name != "DELETE /api/v1/session"), public


def test_every_keyed_operation_documents_401_and_404_for_its_ids():
    # Generated calls always send a valid key, so schemathesis alone would never miss a 401.
    document = openapi_document()
    responses = document["components"]["responses"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or not operation.get("security", document["security"]):
                continue
            unauthorized = operation["responses"]["401"]
            unauthorized = responses[unauthorized["$ref"].rsplit("/", 1)[1]]
            assert "WWW-Authenticate" in unauthorized["headers"], (method, path)
            assert "{" not in path or "404" in operation["responses"], (method, path)


def authenticated(case) -> bool:
    """Whether the operation needs a key (its own `security`, else the document's)."""
    return bool(case.operation.definition.raw.get("security", schema.raw_schema["security"]))


DOCUMENTED = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance, response_headers_conformance]
CHECKS = [*DOCUMENTED, hidden_ids_stay_hidden]
PODCAST_MEDIA = ["/feeds/{token}/cover.{extension}",
                 "/feeds/{token}/episodes/{narration}/audio.mp3",
                 "/feeds/{token}/episodes/{narration}/audio.opus",
                 "/feeds/{token}/episodes/{narration}/chapters.json",
                 "/feeds/{token}/episodes/{narration}/transcript.vtt"]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", PODCAST_MEDIA)
def test_podcast_files_answer_whole_ranged_and_conditional_requests_as_documented(api_app, path,
                                                                                  method):
    operation = schema[path][method]
    real = {"token": SEEDS["token"], "narration": SEEDS["episodes"][0], "extension": "png"}

    def call(**headers):
        case = operation.Case(path_parameters={name: real[name] for name in
                                               re.findall(r"\{(\w+)\}", path)}, headers=headers)
        return case.call_and_validate(app=api_app, checks=CHECKS)

    whole = call()
    assert whole.status_code == 200 and int(header(whole, "Content-Length")) > 2
    assert call(Range="bytes=0-1").status_code == 206  # how Apple's client opens an enclosure
    assert call(Range="bytes=99999999-").status_code == 416
    assert call(**{"If-None-Match": header(whole, "ETag")}).status_code == 304


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_podcast_feed_answers_conditional_requests_as_documented(api_app, method):
    operation = schema["/feeds/{token}.xml"][method]

    def call(**headers):
        case = operation.Case(path_parameters={"token": SEEDS["token"]}, headers=headers)
        return case.call_and_validate(app=api_app, checks=CHECKS)

    whole = call()
    if "last-modified" not in whole.headers:  # sent once the second of the last change is over
        time.sleep(1)
        whole = call()
    assert whole.status_code == 200
    assert call(**{"If-None-Match": header(whole, "ETag")}).status_code == 304
    assert call(**{"If-Modified-Since": header(whole, "Last-Modified")}).status_code == 304
    assert call(**{"If-None-Match": '"stale"'}).status_code == 200


def test_a_rate_limited_answer_is_documented(tmp_path):
    app = recorded_app(tmp_path, QueueRecorder(), RATE_LIMIT="", RATE_LIMIT_IP="2/minute")
    try:
        case = schema["/feeds/{token}.xml"]["GET"].Case(path_parameters={"token": "EXAMPLE"})
        answers = [case.call_and_validate(app=app, checks=DOCUMENTED) for _ in range(3)]
    finally:
        app.extensions["narrator"].db.dispose()
    assert [answer.status_code for answer in answers] == [404, 404, 429]
    assert int(header(answers[-1], "Retry-After")) >= 1


def parse_date(iso: str) -> datetime:
    """A date-time of the API ("…Z") as an aware datetime."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def header(response, name: str) -> str:
    """One header of a schemathesis response (its headers are lists under lower-case names)."""
    return response.headers[name.lower()][0]


WORKER_OPERATIONS = ("/v1/audio/speech", "/api/v1/lexicons/preview")
"""Spoken on the workers, which this app has not (503): tests/test_api_speech.py and
tests/test_lexicons_api.py call them with a real worker."""


@pytest.mark.slow
@schema.exclude(path=list(WORKER_OPERATIONS)).parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_generated_requests_get_documented_answers(case, api_app, record_figure):
    headers = {"Authorization": f"Bearer {SEEDS['key']}"} if authenticated(case) else None
    response = case.call_and_validate(app=api_app, headers=headers, checks=CHECKS)
    record_figure.add("generated requests")
    record_figure.add("server errors", int(response.status_code >= 500))
