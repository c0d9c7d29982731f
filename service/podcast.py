"""The private podcast feeds, as podcast apps fetch them: `/feeds/{token}.xml` and the files it
links to, all under the same token, because podcast apps cannot send headers.

An unknown, rotated or revoked token answers 404, alike. Every answer is `Cache-Control:
private` and `Referrer-Policy: no-referrer` (the token is the credential; it must not travel in
Referer headers or land in shared caches), and readable cross-origin (web players fetch the
sidecars; the token, not cookies, grants access).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from flask import Blueprint, Response, request

from narration.document import document_from_dict, opening
from narration.encode import OPUS_TYPE
from narration.feed import (AlternateEnclosure, EpisodeInfo, FeedInfo, etag_matches,
                            render_feed)
from service.api import base_url, narrator
from service.api.outputs import MP3, VTT, no_opus_copy, serve_media
from service.artwork import artwork_extension, ensure_artwork
from service.errors import NotFoundError
from state import feeds
from state.views import chapter_views
from state.media import narration_key
from state.models import Feed, FeedEntry, utcnow

log = logging.getLogger(__name__)

bp = Blueprint("podcast", __name__, url_prefix="/feeds")

RSS = "application/rss+xml"
FEED_FORMAT = "2"
"""Part of every feed ETag: bump when rendering changes, so apps fetch the new form."""
SIDECARS = {"chapters.json": "application/json", "transcript.vtt": VTT}


@bp.after_app_request
def private_headers(response: Response) -> Response:
    """Keep private feeds out of shared caches, Referer headers, search engines; also for
    paths under /feeds/ that match no route (a mistyped URL still carries a token)."""
    if not request.path.startswith(bp.url_prefix + "/"):
        return response
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/<token>.xml")
def feed_document(token: str):
    """The RSS document; 304 when the app's copy is current (checked before rendering)."""
    with narrator().db.session(readonly=True) as session:
        feed = feed_for(session, token)
        etag, modified = feed_etag(feed), last_modified(feed)
        if not_modified(etag, modified):
            return validators(Response(status=304), etag, modified)
        if feed.chapter_episodes:
            items = chapter_infos(feeds.chapter_episodes(session, feed), token)
        else:
            items = [episode_info(entry, token) for entry in feeds.episodes(session, feed)]
        body = render_feed(feed_info(feed, token), items)
    return validators(Response(body, mimetype=RSS), etag, modified)


@bp.get("/<token>/cover.<extension>")
def feed_cover(token: str, extension: str):
    """The feed's artwork (uploaded, or drawn from its title)."""
    with narrator().db.session(readonly=True) as session:
        feed = feed_for(session, token)
        if extension != artwork_extension(feed):
            raise NotFoundError("This feed's artwork has another file type; see its itunes:image.")
        key, content_type = ensure_artwork(narrator().media, feed)
    return serve_media(key, content_type)


@bp.get("/<token>/episodes/<uuid:job_id>/audio.mp3")
def episode_audio(token: str, job_id):
    """The enclosure: the narration's MP3, with HEAD and Range as podcast apps use them."""
    entry = published_episode(token, str(job_id))
    # A filename from the title: podcast apps otherwise save every episode as "audio.mp3".
    return serve_media(narration_key(job_id, "audio.mp3"), MP3,
                       download=(f"{entry.number:03d} {entry.job.title}", ".mp3"))


@bp.get("/<token>/episodes/<uuid:job_id>/audio.opus")
def episode_opus(token: str, job_id):
    """The podcast:alternateEnclosure: the same episode as Ogg Opus, served as the MP3 is."""
    entry = published_episode(token, str(job_id))
    if not entry.job.opus_size:
        raise NotFoundError(no_opus_copy())
    return serve_media(narration_key(job_id, "audio.opus"), OPUS_TYPE,
                       download=(f"{entry.number:03d} {entry.job.title}", ".opus"))


@bp.get("/<token>/episodes/<uuid:job_id>/chapters/<int:index>.mp3")
def chapter_audio(token: str, job_id, index: int):
    """One chapter as its own episode's enclosure (feeds that publish chapters as episodes)."""
    entry = published_episode(token, str(job_id))
    if index not in {chapter["index"] for chapter in chapter_views(entry.job, "")}:
        raise NotFoundError("This episode has no such chapter.")
    return serve_media(chapter_audio_key(entry.job.id, index), MP3,
                       download=(f"{entry.number:03d}-{index + 1:02d} {entry.job.title}", ".mp3"))


@bp.get("/<token>/episodes/<uuid:job_id>/<any('chapters.json', 'transcript.vtt'):name>")
def episode_sidecar(token: str, job_id, name: str):
    """podcast:chapters and podcast:transcript files."""
    published_episode(token, str(job_id))
    return serve_media(narration_key(job_id, name), SIDECARS[name])


def feed_for(session, token: str) -> Feed:
    """The feed this token opens; 404 alike for unknown, rotated and revoked tokens."""
    feed = feeds.feed_by_token(session, token) if token else None
    if feed is None:
        raise NotFoundError("No feed lives at this address (it may have been moved to a new "
                            "private address by its owner).")
    return feed


def published_episode(token: str, job_id: str) -> FeedEntry:
    """An episode the feed shows; anything else is 404."""
    with narrator().db.session(readonly=True) as session:
        entry = feeds.episode(session, feed_for(session, token), job_id)
        if entry is None:
            raise NotFoundError("This feed has no such episode.")
        return entry


def feed_etag(feed: Feed) -> str:
    """A strong ETag from the feed's revision (and what else shapes the bytes): no rendering."""
    seed = f"{FEED_FORMAT}:{feed.id}:{feed.revision}:{base_url()}"
    return '"' + hashlib.blake2b(seed.encode(), digest_size=16).hexdigest() + '"'


def last_modified(feed: Feed) -> datetime | None:
    """Last-Modified, or None while the feed changed in the current second: HTTP dates have
    whole seconds, so a second change within it would look unmodified to If-Modified-Since."""
    modified = feed.updated_at.replace(microsecond=0)
    return modified if utcnow().replace(microsecond=0) > modified else None


def not_modified(etag: str, modified: datetime | None) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when sent; else If-Modified-Since."""
    if "If-None-Match" in request.headers:
        return etag_matches(request.headers["If-None-Match"], etag)
    since = request.if_modified_since
    return since is not None and modified is not None and modified <= since


def validators(response: Response, etag: str, modified: datetime | None) -> Response:
    """ETag and (once the second of the last change is over) Last-Modified, on 200 and 304."""
    response.headers["ETag"] = etag
    if modified is not None:
        response.last_modified = modified
    return response


def feed_url(token: str) -> str:
    """The address to subscribe to."""
    return f"{base_url()}/feeds/{token}.xml"


def chapter_audio_key(job_id: str, index: int) -> str:
    """Where a narration's chapter MP3 lives in the media store (published by the workers)."""
    return narration_key(job_id, f"chapters/{index}.mp3")


def cover_url(feed: Feed, token: str) -> str:
    return f"{base_url()}/feeds/{token}/cover.{artwork_extension(feed)}"


def episode_url(token: str, job_id: str, name: str) -> str:
    return f"{base_url()}/feeds/{token}/episodes/{job_id}/{name}"


def feed_info(feed: Feed, token: str) -> FeedInfo:
    """The channel as rendered; podcast:guid is seeded by the feed's id, not its token, so
    rotating the address does not make the podcast a new one."""
    return FeedInfo(
        title=feed.title, description=feed.description or feed.title, link=f"{base_url()}/",
        self_url=feed_url(token), language=feed.language, author=feed.author,
        owner_name=feed.author, owner_email=feed.owner_email, category=feed.category,
        image_url=cover_url(feed, token), explicit=feed.explicit,
        guid_seed=f"{base_url()}/feeds/{feed.id}", private=True, locked=True)


def episode_info(entry: FeedEntry, token: str) -> EpisodeInfo:
    """One finished narration as an item; its guid is the narration's id, which never changes."""
    job = entry.job
    return EpisodeInfo(
        guid=job.id, title=job.title or "Untitled narration",
        description=job.description or opening(document_from_dict(job.document)),
        published=entry.published_at, enclosure_url=episode_url(token, job.id, "audio.mp3"),
        enclosure_length=job.mp3_size or 0, duration=job.duration or 0.0,
        episode_number=entry.number, image_url=cover_url(entry.feed, token),
        chapters_url=episode_url(token, job.id, "chapters.json"),
        transcript_url=episode_url(token, job.id, "transcript.vtt"), link=source_link(job),
        alternates=alternates(job, token))


def alternates(job, token: str) -> tuple[AlternateEnclosure, ...]:
    """The episode's encodings as podcast:alternateEnclosure, when it has an Opus copy: the
    MP3 (default="true": the very file of the enclosure, listed so apps that offer a choice
    show both) and the Opus copy. Bitrates are averages, from size and duration."""
    if not job.opus_size or not job.mp3_size:
        return ()

    def bitrate(size: int) -> int | None:
        return round(size * 8 / job.duration) if job.duration else None

    return (AlternateEnclosure(MP3, job.mp3_size, episode_url(token, job.id, "audio.mp3"),
                               bitrate(job.mp3_size), title="MP3", default=True),
            AlternateEnclosure(OPUS_TYPE, job.opus_size, episode_url(token, job.id, "audio.opus"),
                               bitrate(job.opus_size), title="Opus", codecs="opus"))


def source_link(job) -> str | None:
    """The page a narration was made from, when it was made from a link (its request, a few
    hundred bytes, is loaded only for such jobs)."""
    return job.request["input"] if job.source == "url" else None


def chapter_infos(entries: list[FeedEntry], token: str) -> list[EpisodeInfo]:
    """Each chapter of each finished narration as an episode: season = the narration's episode
    number, episode = the chapter's place. PubDates (whole seconds, as RSS has them) rise one
    second at least from chapter to chapter in that order, so apps that sort by date keep the
    order too, even for narrations finished within seconds of each other. A chapter whose MP3
    is not stored is left out (and logged)."""
    items, previous = [], None
    for entry in sorted(entries, key=lambda entry: entry.number):
        job = entry.job
        title = job.title or "Untitled narration"
        description = job.description or opening(document_from_dict(job.document))
        for chapter in chapter_views(job, ""):
            index = chapter["index"]
            info = narrator().media.stat(chapter_audio_key(job.id, index))
            if info is None:
                log.warning("chapter %d of narration %s has no MP3; left out of feed %s",
                            index, job.id, entry.feed_id)
                continue
            published = entry.published_at.replace(microsecond=0)
            if previous is not None and published <= previous:
                published = previous + timedelta(seconds=1)
            previous = published
            items.append(EpisodeInfo(
                guid=f"{job.id}:chapter:{index + 1}",
                title=f"{title}: {chapter['title']}" if chapter["title"] else
                f"{title} (part {index + 1})",
                description=description, published=published,
                enclosure_url=episode_url(token, job.id, f"chapters/{index}.mp3"),
                enclosure_length=info.size, duration=chapter["duration"] or 0.0,
                episode_number=index + 1, image_url=cover_url(entry.feed, token),
                season=entry.number, season_name=title))
    return items
