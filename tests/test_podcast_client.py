"""The gPodder harness against a private feed served on loopback: what a real podcast app sees.

The server holds one RSS 2.0 feed (itunes namespace) at a secret-token path, answers conditional
requests by ETag as our service should, and serves real MP3s made by ffmpeg.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import imageio_ffmpeg
import pytest

from tests.podcast_client import FeedUpdateFailed, Gpo, GpoError, ensure_gpo

FEED_PATH = "/feeds/tok-9f8e7d6c5b4a.xml"  # the token lives in the path, as in a private feed
EPISODES = [("narrator-guid-1", "A Quiet Start", "one.mp3", 440),
            ("narrator-guid-2", "The Verdict", "two.mp3", 660),
            ("narrator-guid-3", "An Encore", "three.mp3", 880)]
FIRST_PUBLISHED = datetime(2026, 6, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    """A folder of 1 s sine MP3s, a different pitch per episode so each file's bytes differ."""
    folder = tmp_path_factory.mktemp("media")
    for _guid, _title, name, frequency in EPISODES:
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi",
                        "-i", f"sine=frequency={frequency}:duration=1", "-ac", "1", "-b:a", "64k",
                        str(folder / name)], check=True)
    return folder


class FeedServer:
    """A loopback HTTP server: one private feed held in memory, MP3s from a folder, requests logged."""

    def __init__(self, media: Path):
        self.media = media
        self.feed = b""
        self.revoked = False  # answer the feed URL with 404, as after a token rotation
        self.requests: list[tuple[str, dict[str, str], int]] = []  # (path, lower-cased headers, status)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.feed_url = self.base + FEED_PATH

    def publish(self, count: int, retitle: dict[str, str] | None = None) -> None:
        """Serve a feed of the first `count` episodes, newest first, with any titles replaced."""
        items = []
        for number, (guid, title, name, _frequency) in enumerate(EPISODES[:count]):
            size = (self.media / name).stat().st_size
            published = format_datetime(FIRST_PUBLISHED + timedelta(days=number))
            items.insert(0, f"""<item><title>{escape((retitle or {}).get(guid, title))}</title>
<guid isPermaLink="false">{escape(guid)}</guid><pubDate>{published}</pubDate>
<enclosure url={quoteattr(f"{self.base}/media/{name}")} length="{size}" type="audio/mpeg"/>
<itunes:duration>1</itunes:duration><itunes:episodeType>full</itunes:episodeType></item>""")
        self.feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>Private Reviews</title><link>{self.base}/</link><description>Narrated reviews</description>
<language>en</language><itunes:explicit>false</itunes:explicit><itunes:author>narrator</itunes:author>
{"".join(items)}</channel></rss>""".encode()

    def feed_requests(self) -> list[tuple[dict[str, str], int]]:
        """(headers, status) of each request for the feed, in order."""
        return [(headers, status) for path, headers, status in self.requests if path == FEED_PATH]

    def _handler(self):
        """A request handler class bound to this server's state."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                """The feed (304 on a matching ETag, 404 once revoked), an MP3, or 404."""
                status, body, headers = self._answer()
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _answer(self) -> tuple[int, bytes, dict[str, str]]:
                """Status, body and headers for the requested path."""
                if self.path == FEED_PATH and not server.revoked:
                    etag = '"%s"' % hashlib.sha256(server.feed).hexdigest()[:16]
                    if self.headers.get("If-None-Match") == etag:
                        return 304, b"", {"ETag": etag}
                    return 200, server.feed, {"Content-Type": "application/rss+xml", "ETag": etag}
                file = server.media / self.path.removeprefix("/media/")
                if self.path.startswith("/media/") and file.is_file():
                    return 200, file.read_bytes(), {"Content-Type": "audio/mpeg"}
                return 404, b"not found", {"Content-Type": "text/plain"}

            def log_message(self, *args):
                """Quiet: the test reads `server.requests` instead."""

        return Handler


@pytest.fixture
def server(media):
    """A running FeedServer serving the first two episodes; shut down after the test."""
    feed_server = FeedServer(media)
    feed_server.publish(2)
    thread = threading.Thread(target=feed_server.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)  # a short poll makes shutdown quick
    thread.start()
    yield feed_server
    feed_server.httpd.shutdown()
    feed_server.httpd.server_close()


@pytest.fixture
def gpo(tmp_path) -> Gpo:
    """A fresh gPodder profile under this test's tmp_path."""
    return Gpo(tmp_path / "gpodder", executable=ensure_gpo())


def test_subscribe_then_download_gives_the_served_mp3s_byte_for_byte(gpo, server, media):
    """gPodder keeps the token URL, lists both episodes, and downloads the exact MP3 bytes."""
    gpo.subscribe(server.feed_url)
    assert gpo.subscriptions() == [server.feed_url]
    assert gpo.update() == 2

    episodes = gpo.episodes(server.feed_url)
    assert [(e.guid, e.title, e.state) for e in episodes] == [
        ("narrator-guid-2", "The Verdict", "new"), ("narrator-guid-1", "A Quiet Start", "new")]
    assert [e.url for e in episodes] == [f"{server.base}/media/two.mp3", f"{server.base}/media/one.mp3"]
    # The update after subscribing sent the ETag back and took the 304.
    (_first, first_status), (again, again_status) = server.feed_requests()
    assert (first_status, again_status) == (200, 304)
    assert again["if-none-match"].startswith('"')
    assert again["user-agent"].startswith("gPodder/")

    files = gpo.download()
    assert sorted(path.name for path in files) == ["one.mp3", "two.mp3"]
    for path in files:
        assert path.read_bytes() == (media / path.name).read_bytes()
    assert all(e.downloaded and e.file.is_file() for e in gpo.episodes())

    gpo.unsubscribe(server.feed_url)
    assert gpo.subscriptions() == []
    assert not any(path.exists() for path in files)  # gPodder deletes an old subscription's files


def test_new_and_retitled_items_update_in_place_without_duplicates(gpo, server):
    """A third item appears once; a changed title on the same guid renames, never duplicates."""
    gpo.subscribe(server.feed_url)
    server.publish(3)
    assert gpo.update() == 3
    assert [e.guid for e in gpo.episodes()] == ["narrator-guid-3", "narrator-guid-2", "narrator-guid-1"]

    server.publish(3, retitle={"narrator-guid-2": "The Verdict, revised"})
    gpo.update()
    titles = {e.guid: e.title for e in gpo.episodes()}
    assert len(gpo.episodes()) == 3
    assert titles == {"narrator-guid-3": "An Encore", "narrator-guid-2": "The Verdict, revised",
                      "narrator-guid-1": "A Quiet Start"}


def test_a_revoked_feed_url_fails_the_update_and_keeps_the_episodes(gpo, server):
    """After a token rotation the old URL answers 404: the update fails loudly, nothing is lost."""
    gpo.subscribe(server.feed_url)
    server.revoked = True
    with pytest.raises(FeedUpdateFailed) as failure:
        gpo.update(server.feed_url)
    assert failure.value.podcasts == ["Private Reviews"]
    assert "NotFound" in failure.value.reason
    assert "[FAIL]" in str(failure.value)  # gpo's own output travels in the message
    assert {e.guid for e in gpo.episodes()} == {"narrator-guid-1", "narrator-guid-2"}
    assert server.feed_requests()[-1][1] == 404


def test_subscribing_to_a_missing_feed_raises_with_gpo_output(gpo, server):
    """A wrong URL fails at subscribe time with gpo's own words, not silently."""
    with pytest.raises(GpoError, match="not found"):
        gpo.subscribe(server.base + "/feeds/no-such-token.xml")
    assert gpo.subscriptions() == []
