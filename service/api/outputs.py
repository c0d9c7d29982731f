"""A job's outputs, served from the media store: the MP3 (and its Opus copy), its chapters JSON
and WebVTT transcript, the recognition check's report when asked for, and each chapter's preview
MP3 as soon as that chapter is done.

Served by hand rather than with `send_file`, because objects may live in S3: GET and HEAD,
Accept-Ranges, 206 for one byte range (several ranges get the whole file, as RFC 9110 allows),
416 for a range past the end, ETag with If-None-Match → 304, If-Range, and a download filename.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote
from uuid import UUID

from flask import Blueprint, Response, request
from werkzeug.http import unquote_etag

from narration.encode import OPUS_TYPE
from service.api import JSON, narrator, produces
from service.api.narrations import read_job
from service.auth import require_user
from service.errors import NotFoundError, NotReadyError, RangeNotSatisfiableError
from state.media import narration_key

bp = Blueprint("outputs", __name__, url_prefix="/api/v1/narrations")
bp.before_request(require_user)

MP3 = "audio/mpeg"
VTT = "text/vtt"
UNSAFE_IN_FILENAMES = set('"\\/:*?<>|;')
FALLBACK_NAME = "narration"


@bp.get("/<uuid:job_id>/audio.mp3")
@produces(MP3)
def episode_audio(job_id: UUID):
    """The finished episode, as a download named after the title."""
    view = finished_job(job_id)
    return serve_media(narration_key(job_id, "audio.mp3"), MP3, download=(view.get("title"), ".mp3"))


@bp.get("/<uuid:job_id>/audio.opus")
@produces(OPUS_TYPE)
def episode_opus(job_id: UUID):
    """The same episode as Ogg Opus, about half the MP3's size (see NARRATOR_OPUS_BITRATE)."""
    view = finished_job(job_id)
    if "opus" not in view["links"]:
        raise NotFoundError(no_opus_copy(), field="id")
    return serve_media(narration_key(job_id, "audio.opus"), OPUS_TYPE,
                       download=(view.get("title"), ".opus"))


def no_opus_copy() -> str:
    return ("This narration has no Opus copy: it was made while NARRATOR_OPUS_BITRATE was off, "
            "or before Opus copies were made. The MP3 is there.")


@bp.get("/<uuid:job_id>/chapters.json")
@produces(JSON)
def episode_chapters(job_id: UUID):
    """Podcasting 2.0 chapters; web players on other origins fetch it, hence CORS."""
    finished_job(job_id)
    return serve_media(narration_key(job_id, "chapters.json"), JSON, cors=True)


@bp.get("/<uuid:job_id>/transcript.vtt")
@produces(VTT)
def episode_transcript(job_id: UUID):
    """WebVTT transcript; browsers load <track> files cross-origin only with CORS."""
    finished_job(job_id)
    return serve_media(narration_key(job_id, "transcript.vtt"), VTT, cors=True)


@bp.get("/<uuid:job_id>/check.json")
@produces(JSON)
def episode_check(job_id: UUID):
    """The recognition check's report, for narrations asked for with `"check": true`."""
    if "check" not in read_job(str(job_id)):
        raise NotFoundError("This narration was made without the recognition check; narrate "
                            "with \"check\": true to get one.", field="id")
    finished_job(job_id)
    return serve_media(narration_key(job_id, "check.json"), JSON)


@bp.get("/<uuid:job_id>/chapters/<int:index>/audio.mp3")
@produces(MP3)
def chapter_audio(job_id: UUID, index: int):
    """One chapter's preview, playable while later chapters are still being narrated."""
    view = read_job(str(job_id))
    chapter = next((c for c in view.get("chapters", []) if c.get("index") == index), None)
    if chapter is None:
        raise NotFoundError(f"This narration has no chapter {index}; see its chapters list.",
                            field="index")
    if chapter.get("status") != "done":
        raise NotReadyError(f"Chapter {index} is {chapter.get('status')}; its audio appears when "
                            "it is done (follow the events stream).")
    return serve_media(narration_key(job_id, f"chapters/{index}.mp3"), MP3,
                       download=(f"{view.get('title') or FALLBACK_NAME} - chapter {index + 1}", ".mp3"))


def finished_job(job_id: UUID) -> dict:
    """The job, which must be done for its episode outputs to exist."""
    view = read_job(str(job_id))
    if view.get("status") != "done":
        raise NotReadyError(f"The narration is {view.get('status')}; its outputs appear when it is "
                            "done (follow the events stream or poll the job).")
    return view


def serve_media(key: str, content_type: str, *, download: tuple[str | None, str] | None = None,
                cors: bool = False) -> Response:
    """Answer GET/HEAD for one stored object with conditional and range handling."""
    store = narrator().media
    info = store.stat(key)
    if info is None:
        raise NotReadyError("This output is not in the media store yet; try again shortly.")
    etag, _ = unquote_etag(info.etag)
    response = Response(mimetype=content_type)
    response.set_etag(etag)
    response.last_modified = info.modified
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = "no-cache"  # revalidate with the ETag: ids are reused on retry
    if download:
        response.headers["Content-Disposition"] = content_disposition(download[0] or "", download[1])
    if cors:
        response.headers["Access-Control-Allow-Origin"] = "*"
    if request.if_none_match.contains_weak(etag):
        response.status_code = 304
        return response
    span = byte_range(etag, info.size)
    start, stop = span or (0, info.size)
    if span is not None:
        response.status_code = 206
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{info.size}"
    response.headers["Content-Length"] = str(stop - start)
    if request.method != "HEAD" and stop > start:
        response.response = store.open_stream(key, start, stop - 1)
    return response


def byte_range(etag: str, size: int) -> tuple[int, int] | None:
    """[start, stop) of the one Range that applies, or None to send the whole object (200)."""
    ranges = request.range
    if ranges is None or len(ranges.ranges) != 1:
        return None  # no Range, a malformed one, or several: the whole object
    if request.if_range.etag is not None and request.if_range.etag != etag:
        return None  # the client's copy is stale; it gets the current object whole
    if request.if_range.date is not None:
        return None  # dates are weak validators; only the ETag form of If-Range is honoured
    span = ranges.range_for_length(size)
    if span is None:
        raise RangeNotSatisfiableError(
            f"The Range {request.headers.get('Range')} is outside the file of {size} bytes.", size=size)
    return span


def content_disposition(stem: str, suffix: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form.

    Old clients read only `filename`, which must be ASCII and quoted; modern ones prefer
    `filename*`, which keeps the title as written ("Amélie" stays Amélie).
    """
    cleaned = "".join(" " if ch in UNSAFE_IN_FILENAMES or not ch.isprintable() else ch for ch in stem)
    cleaned = " ".join(cleaned.split()).strip(". ") or FALLBACK_NAME
    ascii_stem = unicodedata.normalize("NFKD", cleaned).encode("ascii", "ignore").decode()
    ascii_stem = " ".join(ascii_stem.split()).strip(". ") or FALLBACK_NAME
    return (f'attachment; filename="{ascii_stem}{suffix}"; '
            f"filename*=UTF-8''{quote(cleaned + suffix, safe='')}")
