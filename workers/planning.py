"""The plan step: read what was sent, once, and store the script in parts for the part tasks.

Reading is the expensive, input-driven step (decoding, Markdown, normalization, sentence
splitting), so it runs here on a worker, never in the web request; it runs in time linear in the
text. Each part's script is stored on its own, so a part task reads only its part.
"""

from __future__ import annotations

import json
import logging

from narration.document import Document, document_to_dict, opening
from narration.errors import NarrationError
from narration.lexicon import apply_to_scripts
from narration.names import find_names
from narration.pipeline import Part, part_from_dict, part_to_dict, plan_parts
from narration.reading import read_source, read_url
from narration.settings import load_settings
from narration.script import build_script
from state import jobs
from state.lexicons import resolve_lexicon
from state.media import MediaStore, narration_key
from state.voices import voices_for_user
import voices
from voices import Voice, engines
from voices.engines import engine_module

log = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = 250
"""Utterance limit when an engine module does not declare MAX_CHARS."""


def plan_key(job_id: str, index: int) -> str:
    """Where part `index`'s script is stored."""
    return narration_key(job_id, f"plan/{index}.json")


def read_request(request: dict) -> Document:
    """The document in what was sent: {"source", "input", "title", "author"}. A link is fetched
    here, on the worker (never in the web request), within the fetch rules of narration.fetch."""
    source, value = request["source"], request["input"]
    title, author = request.get("title", ""), request.get("author", "")
    try:
        if source == "url":
            settings = load_settings()
            return read_url(value, allowed_networks=settings.fetch_allowed_networks,
                            max_bytes=settings.max_text_bytes, title=title, author=author)
        return read_source(source, value, title=title, author=author)
    except NarrationError as error:
        error.field = error.field or source
        raise


def utterance_limit(voice: Voice) -> int:
    """The utterance length the voice's engine splits at, read without loading the engine:
    every engine module declares MAX_CHARS, the value its engine reports as `max_chars`."""
    return getattr(engine_module(voice.engine), "MAX_CHARS", DEFAULT_MAX_CHARS)


def plan_job(db, media: MediaStore, catalogue, job_id: str, *,
             max_attempts: int | None = None) -> bool:
    """Read the job's text, find its names (the names check), apply its owner's lexicons (those
    the request named, else their defaults) and store its parts, unless that is done; whether
    its parts may be queued now (False when the job is over). A text that turns out unspeakable raises its
    NarrationError: the caller fails the job with its code."""
    with db.session() as session:
        planning_now = jobs.start_plan(session, job_id, max_attempts=max_attempts)
        job = jobs.get_job(session, job_id)
        if job is None or job.terminal:
            return False
        if not planning_now:
            return job.planned_at is not None
        request = job.request
        found = voices_for_user(session, job.user_id, catalogue)
        voice = found.find(job.voice)
        limit = utterance_limit(voice)
        if request.get("quote_voice"):  # every utterance must suit either voice
            limit = min(limit, utterance_limit(found.find(request["quote_voice"],
                                                          field="quote_voice")))
        lexicon = resolve_lexicon(session, job.user_id, request.get("lexicons"))
    document = read_request(request)
    scripts = build_script(document, max_chars=limit, quotes=bool(request.get("quote_voice")))
    names = find_names(scripts, lexicon=lexicon, guessed=guesser(voice))
    parts = plan_parts(apply_to_scripts(scripts, lexicon))
    for index, part in enumerate(parts):
        media.put_bytes(plan_key(job_id, index), json.dumps(part_to_dict(part)).encode(),
                        "application/json")
    meta = document.metadata
    with db.session() as session:
        recorded = jobs.record_plan(
            session, job_id, document=document_to_dict(document), description=description(document),
            title=meta.title or meta.headline, author=meta.author, parts=parts,
            names=names.to_dict())
    log.info("planned job %s: %d chapters in %d parts", job_id,
             len({part.chapter for part in parts}), len(parts))
    return recorded


def guesser(voice: Voice):
    """The voice's `guessed_words` (which names its phonemizer guesses from spelling), or None.
    Loads the engine here: the part tasks of this process use it next (engines are cached). A
    voice that is not installed says nothing here; its part tasks fail the job with the reason."""
    if engines.missing(voice) is not None:
        return None
    return getattr(voices.load_engine(voice), "guessed_words", None)


def description(document: Document) -> str:
    """The episode's description in feeds: the rating, when the text gave one, then the text's
    opening."""
    rating = document.metadata.rating
    return (f"Rating: {rating}.\n\n" if rating else "") + opening(document)


def load_part(media: MediaStore, job_id: str, index: int) -> Part:
    """Part `index`'s script, as `plan_job` stored it."""
    return part_from_dict(json.loads(media.get_bytes(plan_key(job_id, index))))
