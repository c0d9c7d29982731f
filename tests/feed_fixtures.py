"""Helpers for the feed tests: real (small, ffmpeg-made) MP3s and sidecars in the media store,
narrations finished through state.jobs as the assembly task leaves them, feeds over the API."""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import tempfile
from pathlib import Path

import feedparser
import imageio_ffmpeg
from PIL import Image

from api_fixtures import (BASE_URL, TWO_CHAPTERS, finish_job, submit)
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


ACCEPTED = {"mp3": ("mp3", "audio/mpeg"), "wav": ("wav", "audio/wav"),
            "ogg": ("ogg", "audio/ogg"), "flac": ("flac", "audio/flac"),
            "m4a": ("ipod", "audio/mp4")}


@functools.cache
def clip(kind: str = "wav", seconds: float = 2.0, gain_db: float = -24.0,
         source: str = "sine=frequency=330") -> bytes:
    """A real audio file made by ffmpeg: a quiet stereo 48 kHz tone burst with a wobble, so the
    clip must be resampled, mixed down and brought up to the podcast loudness."""
    muxer = ACCEPTED.get(kind, (kind, None))[0]
    with tempfile.TemporaryDirectory() as folder:  # a file: the M4A muxer seeks back
        path = Path(folder) / "clip"
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi",
             "-i", f"{source}:duration={seconds}", "-af", f"tremolo=f=3:d=0.6,volume={gain_db}dB", "-ac", "2", "-ar", "48000",
             "-f", muxer, str(path)], check=True, capture_output=True)
        return path.read_bytes()


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
        pending = sorted({p.chapter for p in jobs.get_job(session, job_id).parts
                          if p.status != "done"})
    finish_job(app, job_id, pending, mp3_size=len(audio))
    return audio


def narrate(app, client, title: str = "A review", frequency: int = 440, **fields) -> dict:
    """A narration submitted with `fields` (e.g. feed=…) and finished; its resource."""
    job = submit(client, {**TWO_CHAPTERS, "title": title, **fields})
    complete(app, job["id"], frequency)
    return client.get(job["links"]["self"]).get_json()


ADDRESSES: dict[str, str] = {}
"""Feed id → the private URL a test was shown when it made one: the API shows it only then."""


def default_feed(client) -> dict:
    """The default feed with its private URL (made once per feed, as a user does on the page,
    since the API shows a URL only in the answer that made it)."""
    feed = client.get("/api/v1/feeds").get_json()["feeds"][0]
    if feed["id"] not in ADDRESSES:
        made = client.post(local(feed["links"]["token"])).get_json()
        ADDRESSES[feed["id"]] = made["url"]
        feed = client.get(local(feed["links"]["self"])).get_json()
    return with_address(feed)


def with_address(feed: dict) -> dict:
    """The feed view with the private URL the test was shown (the API shows null again)."""
    if feed.get("url"):
        ADDRESSES[feed["id"]] = feed["url"]
    url = ADDRESSES.get(feed["id"]) if feed["url_active"] else None
    extension = "jpg" if feed["artwork"]["type"] == "image/jpeg" else "png"
    cover = f"{url.removesuffix('.xml')}/cover.{extension}" if url else None
    return {**feed, "url": url, "artwork": {**feed["artwork"], "url": cover}}


def shown(client, url: str) -> dict:
    """GET a feed resource, with the private URL the test was shown when it was made."""
    return with_address(client.get(local(url) if url.startswith("http") else url).get_json())


def make_feed(client, **fields) -> dict:
    response = client.post("/api/v1/feeds", json={"title": "Named", **fields})
    assert response.status_code == 201, response.get_json()
    return with_address(response.get_json())


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
