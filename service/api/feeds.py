"""A user's podcast feeds: create, read, edit, delete; rotate or revoke the private address;
upload artwork and the intro and outro clips; put narrations in and take them out.

Every feed id is checked against the caller: another user's feed answers 404, as an unknown one.
"""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from service.api import JSON, base_url, narrator, produces
from service.api.narrations import owned_job
from narration.clips import ACCEPTED, InvalidClipError
from service.api.outputs import MP3, serve_media
from service.artwork import MAX_UPLOAD_BYTES, checked_artwork, ensure_artwork, store_artwork
from service.auth import current_user, require_user
from service.errors import NotFoundError, UnsupportedMediaTypeError
from service.feed_clips import (MAX_CLIP_BYTES, MAX_CLIP_SECONDS, clip_view, remove_clip_file,
                                store_clip, too_large)
from service.feed_requests import NotPublishableError, parse_feed_fields
from service.podcast import cover_url, feed_url
from state import feeds
from state.models import Feed, FeedEntry
from state.views import iso_time

bp = Blueprint("feeds", __name__, url_prefix="/api/v1/feeds")
bp.before_request(require_user)

IMAGE_TYPES = ("image/png", "image/jpeg")
CLIP = "<any(intro, outro):which>"


@bp.get("")
@produces(JSON)
def list_feeds():
    """The caller's feeds, the default one first."""
    with narrator().db.session(readonly=True) as session:
        return jsonify(feeds=[feed_view(session, feed)
                              for feed in feeds.list_feeds(session, current_user())])


@bp.post("")
@produces(JSON)
def create_feed():
    """A new named feed with its own private address."""
    fields = parse_feed_fields(request, creating=True)
    with narrator().db.session() as session:
        feed = feeds.create_feed(session, current_user(), **fields)
        view = feed_view(session, feed)
    response = jsonify(view)
    response.status_code = 201
    response.headers["Location"] = view["links"]["self"]
    return response


@bp.get("/<uuid:feed_id>")
@produces(JSON)
def get_feed(feed_id: UUID):
    with narrator().db.session(readonly=True) as session:
        return jsonify(feed_view(session, owned_feed(session, feed_id)))


@bp.patch("/<uuid:feed_id>")
@produces(JSON)
def edit_feed(feed_id: UUID):
    """Change any of title, description, author, owner_email, language, explicit, category."""
    fields = parse_feed_fields(request, creating=False)
    with narrator().db.session() as session:
        feed = feeds.update_feed(session, owned_feed(session, feed_id), fields)
        return jsonify(feed_view(session, feed))


@bp.delete("/<uuid:feed_id>")
def delete_feed(feed_id: UUID):
    """Delete a named feed; its narrations stay (409 for the default feed), its clips go."""
    with narrator().db.session() as session:
        feed = owned_feed(session, feed_id)
        clips = [feed.intro, feed.outro]
        feeds.delete_feed(session, feed)
    for record in clips:
        remove_clip_file(narrator().media, record)
    return Response(status=204)


@bp.post("/<uuid:feed_id>/token")
@produces(JSON)
def rotate_token(feed_id: UUID):
    """A new private address; the old one answers 404 from now on."""
    with narrator().db.session() as session:
        feed = owned_feed(session, feed_id)
        feeds.rotate_token(feed)
        return jsonify(feed_view(session, feed))


@bp.delete("/<uuid:feed_id>/token")
@produces(JSON)
def revoke_token(feed_id: UUID):
    """No address reaches the feed until a new one is made (POST to the same URL)."""
    with narrator().db.session() as session:
        feed = owned_feed(session, feed_id)
        feeds.revoke_token(feed)
        return jsonify(feed_view(session, feed))


@bp.get("/<uuid:feed_id>/artwork")
def get_artwork(feed_id: UUID):
    """The artwork podcast apps show: the upload, or the cover drawn from the title."""
    with narrator().db.session(readonly=True) as session:
        key, content_type = ensure_artwork(narrator().media, owned_feed(session, feed_id))
    return serve_media(key, content_type)


@bp.put("/<uuid:feed_id>/artwork")
@produces(JSON)
def upload_artwork(feed_id: UUID):
    """Square JPEG or PNG, 1400–3000 px, sent as the body (image/jpeg or image/png)."""
    if request.mimetype not in IMAGE_TYPES:
        raise UnsupportedMediaTypeError("Send the artwork as the body with Content-Type "
                                        "image/jpeg or image/png.", field="Content-Type")
    with narrator().db.session(readonly=True) as session:
        owned_feed(session, feed_id)  # another user's feed: 404 before the body is even read
    request.max_content_length = MAX_UPLOAD_BYTES
    data, content_type = checked_artwork(request.get_data())
    with narrator().db.session() as session:
        feed = owned_feed(session, feed_id)
        store_artwork(narrator().media, feed, data, content_type)
        feeds.set_artwork(feed, content_type)
        return jsonify(feed_view(session, feed))


@bp.delete("/<uuid:feed_id>/artwork")
@produces(JSON)
def remove_artwork(feed_id: UUID):
    """Back to the cover drawn from the feed's title."""
    with narrator().db.session() as session:
        feed = owned_feed(session, feed_id)
        feeds.set_artwork(feed, None)
        return jsonify(feed_view(session, feed))


@bp.get(f"/<uuid:feed_id>/{CLIP}")
@produces(MP3)
def get_clip(feed_id: UUID, which: str):
    """The intro or outro as episodes will carry it (at podcast loudness, with its fades)."""
    with narrator().db.session(readonly=True) as session:
        record = getattr(owned_feed(session, feed_id), which)
    if record is None:
        raise NotFoundError(f"This feed has no {which}; upload one with PUT.", field=which)
    return serve_media(record["key"], MP3)


@bp.put(f"/<uuid:feed_id>/{CLIP}")
@produces(JSON)
def upload_clip(feed_id: UUID, which: str):
    """An intro or outro for the feed's new episodes: MP3, WAV, OGG, FLAC or M4A audio as the
    body, told by its content (any audio/* Content-Type, or application/octet-stream)."""
    with narrator().db.session(readonly=True) as session:
        owned_feed(session, feed_id)  # another user's feed: 404 before anything else is looked at
    if not (request.mimetype.startswith("audio/")
            or request.mimetype == "application/octet-stream"):
        raise UnsupportedMediaTypeError(
            f"Send the {which} as the body, {ACCEPTED} audio, with an audio/* Content-Type "
            "(e.g. audio/mpeg) or application/octet-stream.", field="Content-Type")
    if request.content_length and request.content_length > MAX_CLIP_BYTES:
        raise too_large(request.content_length)
    request.max_content_length = MAX_CLIP_BYTES
    try:
        data = request.get_data()
    except RequestEntityTooLarge:
        raise too_large() from None
    if not data:
        raise InvalidClipError(f"The body is empty; send the {which}'s audio (at most "
                               f"{MAX_CLIP_SECONDS:g} s).", field="body")
    media = narrator().media
    record = store_clip(media, str(feed_id), which, data, bitrate=current_app.config["BITRATE"])
    with narrator().db.session() as session:
        feed = owned_feed(session, feed_id)
        old = feeds.set_clip(feed, which, record)
        view = feed_view(session, feed)
    remove_clip_file(media, old, keep=record)
    return jsonify(view)


@bp.delete(f"/<uuid:feed_id>/{CLIP}")
@produces(JSON)
def remove_clip(feed_id: UUID, which: str):
    """New episodes go without it; episodes made with it keep it."""
    with narrator().db.session() as session:
        feed = owned_feed(session, feed_id)
        old = feeds.set_clip(feed, which, None)
        view = feed_view(session, feed)
    remove_clip_file(narrator().media, old)
    return jsonify(view)


@bp.get("/<uuid:feed_id>/episodes")
@produces(JSON)
def list_entries(feed_id: UUID):
    """The narrations in the feed: episodes (numbered) and those that will be when done."""
    with narrator().db.session(readonly=True) as session:
        feed = owned_feed(session, feed_id)
        entries = sorted(feed.entries, key=lambda e: (e.number is None, -(e.number or 0),
                                                      e.added_at))
        return jsonify(episodes=[entry_view(feed, entry) for entry in entries])


@bp.put("/<uuid:feed_id>/episodes/<uuid:job_id>")
@produces(JSON)
def add_entry(feed_id: UUID, job_id: UUID):
    """Put one of the caller's narrations in the feed (201; 200 when it was there already)."""
    with narrator().db.session() as session:
        feed = owned_feed(session, feed_id)
        job = owned_job(session, str(job_id))
        if job.status in ("failed", "canceled"):
            raise NotPublishableError(f"The narration is {job.status}; only narrations that "
                                      "finish become episodes.", field="job_id")
        entry, created = feeds.add_job(session, feed, job)
        response = jsonify(entry_view(feed, entry))
    response.status_code = 201 if created else 200
    return response


@bp.delete("/<uuid:feed_id>/episodes/<uuid:job_id>")
def remove_entry(feed_id: UUID, job_id: UUID):
    """Take a narration out of the feed (the narration itself stays)."""
    with narrator().db.session() as session:
        feed = owned_feed(session, feed_id)
        owned_job(session, str(job_id))
        if not feeds.remove_job(session, feed, str(job_id)):
            raise NotFoundError("That narration is not in this feed.", field="job_id")
    return Response(status=204)


def owned_feed(session, feed_id: UUID) -> Feed:
    """The caller's feed; 404 alike for unknown ids and other users' feeds."""
    feed = feeds.get_feed(session, current_user(), str(feed_id))
    if feed is None:
        raise NotFoundError(f"You have no feed with id {feed_id}.", field="id")
    return feed


def feed_view(session, feed: Feed) -> dict:
    """The feed as the API shows it to its owner; its private address only when just made
    (only the token's digest is stored, so it cannot be shown again)."""
    this = f"{base_url()}/api/v1/feeds/{feed.id}"
    token = feeds.fresh_token(feed)
    published = sum(1 for entry in feed.entries
                    if entry.number is not None and entry.job.status == "done")
    return {
        "id": feed.id, "default": feed.is_default, "title": feed.title,
        "description": feed.description, "author": feed.author, "owner_email": feed.owner_email,
        "language": feed.language, "explicit": feed.explicit, "category": feed.category,
        "chapter_episodes": feed.chapter_episodes,
        "url": feed_url(token) if token else None,
        "url_active": feed.token_digest is not None,
        "artwork": {"uploaded": feed.artwork_type is not None,
                    "type": feed.artwork_type or "image/png",
                    "url": cover_url(feed, token) if token else None},
        "intro": clip_view(feed.intro), "outro": clip_view(feed.outro),
        "episodes": published,
        "created_at": iso_time(feed.created_at), "updated_at": iso_time(feed.updated_at),
        "links": {"self": this, "episodes": f"{this}/episodes", "artwork": f"{this}/artwork",
                  "token": f"{this}/token", "intro": f"{this}/intro", "outro": f"{this}/outro"},
    }


def entry_view(feed: Feed, entry: FeedEntry) -> dict:
    """One narration's place in a feed."""
    job = entry.job
    return {"narration": job.id, "title": job.title, "status": job.status,
            "episode": entry.number,
            "published_at": iso_time(entry.published_at) if entry.number is not None else None,
            "links": {"narration": f"{base_url()}/api/v1/narrations/{job.id}"}}


