"""Users' lexicons over HTTP: upload (PLS or two columns), replace, list, read, delete; precise
422s naming the bad entry; a user sees only their own; resolving what a narration applies; and
the preview, which says a text in a real voice with the lexicon applied and caches the MP3."""

from __future__ import annotations

import io

import pytest
from api_fixtures import (BASE_URL, api_key, app, client, client_for, error_of, make_user,  # noqa: F401
                          recorder)
from mutagen.mp3 import MP3

from state import lexicons

PLS = ('<?xml version="1.0" encoding="UTF-8"?>\n'
       '<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" '
       'alphabet="ipa" xml:lang="en-US">\n'
       '  <lexeme><grapheme>Caleb</grapheme><phoneme>ˈkeɪləb</phoneme></lexeme>\n'
       '  <lexeme><grapheme>Nathan</grapheme><alias>Jonathan</alias></lexeme>\n'
       '</lexicon>\n')


def put(client, name, body, content_type="text/plain; charset=utf-8", **query):
    return client.put(f"/api/v1/lexicons/{name}", data=body.encode() if isinstance(body, str)
                      else body, content_type=content_type, query_string=query)


def test_upload_list_read_replace_and_delete(client):
    created = put(client, "films", PLS, "application/pls+xml")
    assert created.status_code == 201
    assert created.headers["Location"] == f"{BASE_URL}/api/v1/lexicons/films"
    assert created.get_json()["entries"] == 2 and created.get_json()["format"] == "pls"
    assert put(client, "people", "Ava\tAy-va\n", default="false").status_code == 201
    listed = client.get("/api/v1/lexicons").get_json()["lexicons"]
    assert [(x["name"], x["entries"], x["default"]) for x in listed] == [
        ("films", 2, True), ("people", 1, False)]
    words = client.get("/api/v1/lexicons/films").get_json()["words"]
    assert words == [{"grapheme": "Caleb", "alias": None, "phonemes": "ˈkeɪləb"},
                     {"grapheme": "Nathan", "alias": "Jonathan", "phonemes": None}]
    replaced = put(client, "films", "Caleb\tKaleb\n")
    assert replaced.status_code == 200 and replaced.get_json()["format"] == "text"
    assert client.get("/api/v1/lexicons/films").get_json()["entries"] == 1
    assert client.delete("/api/v1/lexicons/films").status_code == 204
    assert client.get("/api/v1/lexicons/films").status_code == 404
    assert error_of(client.delete("/api/v1/lexicons/films"))["code"] == "not_found"


@pytest.mark.parametrize("body, content_type, status, code, field, message", [
    ("Caleb\t/k@leb/\n", "text/plain", 422, "invalid_lexicon", "body",
     "films, line 1: 'k@leb' is not IPA: '@' is not an IPA symbol"),
    (PLS.replace("<alias>Jonathan</alias>", ""), "application/pls+xml", 422, "invalid_lexicon",
     "body", "films, lexeme 2 ('Nathan'): give a <phoneme> or an <alias>"),
    (PLS[:-12], "application/xml", 422, "invalid_lexicon", "body", "not well-formed XML at line"),
    ("Caleb\tKaleb\n", "application/json", 415, "unsupported_media_type", "Content-Type",
     "is not a lexicon"),
    (b"Caf\xe9\tkafay\n", "text/plain", 422, "invalid_lexicon", "body", "not UTF-8 (byte 3)"),
    ("", "text/plain", 422, "invalid_lexicon", "body", "the lexicon is empty"),
])
def test_a_bad_upload_gets_a_precise_error(client, body, content_type, status, code, field,
                                           message):
    response = put(client, "films", body, content_type)
    assert response.status_code == status
    error = error_of(response)
    assert (error["code"], error.get("field")) == (code, field)
    assert message in error["message"]
    assert client.get("/api/v1/lexicons").get_json()["lexicons"] == []


def test_names_must_be_url_friendly_and_default_a_boolean(client):
    error = error_of(put(client, "my%20films", "Caleb\tKaleb\n"))
    assert (error["code"], error["field"]) == ("invalid_lexicon_name", "name")
    error = error_of(put(client, "films", "Caleb\tKaleb\n", default="maybe"))
    assert (error["code"], error["field"]) == ("invalid_request", "default")


def test_another_users_lexicons_are_invisible(app, client):
    put(client, "films", PLS, "application/pls+xml")
    other = client_for(app, make_user(app, "other"))
    assert other.get("/api/v1/lexicons").get_json()["lexicons"] == []
    assert other.get("/api/v1/lexicons/films").status_code == 404
    assert other.delete("/api/v1/lexicons/films").status_code == 404
    assert put(other, "films", "Caleb\tCable\n").status_code == 201  # names are per user
    assert client.get("/api/v1/lexicons/films").get_json()["entries"] == 2


def test_a_narration_gets_the_named_lexicons_or_else_the_defaults(app, client, tmp_path,
                                                                monkeypatch):
    service = tmp_path / "service.txt"
    service.write_text("Caleb\tService Caleb\nAva\tService Ava\n")
    monkeypatch.setenv("NARRATOR_LEXICON_FILE", str(service))
    put(client, "films", PLS, "application/pls+xml")
    put(client, "extra", "Nathan\tNate\n", default="false")
    db = app.extensions["narrator"].db
    with db.session(readonly=True) as session:
        user = lexicons.list_lexicons(session, _user_id(app))[0].user_id
        default = lexicons.resolve_lexicon(session, user)
        named = lexicons.resolve_lexicon(session, user, ["films", "extra"])
        none = lexicons.resolve_lexicon(session, user, [])
        with pytest.raises(lexicons.UnknownLexicon) as error:
            lexicons.resolve_lexicon(session, user, ["films", "nope"])
    text = "Caleb and Nathan meet Ava."
    assert default.apply(text).spoken == "Caleb and Jonathan meet Service Ava."
    assert default.apply(text).phonemes == (("Caleb", "ˈkeɪləb"),)
    assert named.apply(text).spoken == "Caleb and Nate meet Service Ava."
    assert none.apply(text).spoken == "Service Caleb and Nathan meet Service Ava."
    assert (error.value.code, error.value.field, error.value.status) == (
        "unknown_lexicon", "lexicons", 422)


def _user_id(app):
    from sqlalchemy import select

    from state.models import User
    with app.extensions["narrator"].db.session(readonly=True) as session:
        return session.scalar(select(User.id).where(User.name == "tester"))


def test_preview_says_the_text_with_the_lexicon_and_caches_the_mp3(live_url, http, celery_worker):
    """Spoken by a real worker behind the real app, as /v1/audio/speech is."""
    def preview(**fields):
        return http.post(f"{live_url}/api/v1/lexicons/preview", timeout=120,
                         json={"text": "Caleb", "voice": "male", **fields})

    def upload(text):
        response = http.put(f"{live_url}/api/v1/lexicons/films", data=text.encode(),
                            headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=30)
        assert response.status_code in (200, 201), response.text

    upload("Caleb\tJonathan\n")
    first = preview()
    assert first.status_code == 200, first.text
    assert first.headers["Content-Type"] == "audio/mpeg"
    assert first.headers["X-Preview-Cache"] == "miss"
    again = preview()
    assert again.headers["X-Preview-Cache"] == "hit" and again.content == first.content
    without = preview(lexicons=[])
    assert without.headers["X-Preview-Cache"] == "miss"
    # "Jonathan" has three syllables to "Caleb"'s two
    assert MP3(io.BytesIO(first.content)).info.length > MP3(io.BytesIO(without.content)).info.length
    upload("Caleb\tKaleb\n")  # an edited lexicon is a new preview
    assert preview().headers["X-Preview-Cache"] == "miss"


@pytest.mark.parametrize("body, code, field", [
    ({"voice": "male"}, "missing_field", "text"),
    ({"text": "x" * 201, "voice": "male"}, "invalid_request", "text"),
    ({"text": "Caleb", "voice": "nobody"}, "unknown_voice", "voice"),
    ({"text": "Caleb", "voice": "male", "lexicons": ["nope"]}, "unknown_lexicon", "lexicons"),
    ({"text": "Caleb", "voice": "male", "lexicons": "films"}, "invalid_request", "lexicons"),
    ({"text": "Caleb", "voice": "male", "speed": 9}, "invalid_speed", "speed"),
    ({"text": "😀", "voice": "male"}, "nothing_speakable", "text"),
    ({"text": "Caleb", "voice": "male", "pitch": 2}, "invalid_request", "pitch"),
])
def test_preview_mistakes_are_422_with_the_field(client, body, code, field):
    response = client.post("/api/v1/lexicons/preview", json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error.get("field")) == (code, field)


def test_a_narration_names_its_lexicons_and_the_plan_applies_them(app, client):
    from workers.planning import load_part

    put(client, "films", "Caleb\tJonathan\n")
    put(client, "extra", "Nathan\tNate\n", default="false")
    text = {"voice": "male", "text": "Caleb meets Nathan."}
    defaults = client.post("/api/v1/narrations", json=text).get_json()
    named = client.post("/api/v1/narrations", json={**text, "lexicons": ["extra"]}).get_json()
    media = app.extensions["narrator"].media

    def spoken(job):
        return " ".join(u.spoken for u in load_part(media, job["id"], 0).script.utterances)

    assert "Jonathan meets Nathan" in spoken(defaults)
    assert "Caleb meets Nate" in spoken(named)
    refused = client.post("/api/v1/narrations", json={**text, "lexicons": ["nope"]})
    assert (refused.status_code, error_of(refused)["code"]) == (422, "unknown_lexicon")
