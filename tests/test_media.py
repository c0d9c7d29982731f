"""The media store on both backends: a local folder and a real SeaweedFS S3 server."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
import uuid
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from state.media import (
    CHUNK_SIZE,
    InvalidMediaKey,
    LocalMediaStore,
    MediaNotFound,
    MediaStoreError,
    narration_key,
    open_media_store,
)
from tests.servers import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedServer, start_seaweed_or_skip, tmpfs


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory):
    """A real SeaweedFS S3 server for this module (its last test crashes it), or a skip that says why."""
    server = start_seaweed_or_skip(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


def s3_store_for(server: SeaweedServer, prefix: str = ""):
    """An S3 media store on the test server, under a prefix of its own."""
    from state.media_s3 import S3MediaStore

    return S3MediaStore(BUCKET, prefix or f"test-{uuid.uuid4().hex[:8]}", endpoint_url=server.endpoint,
                        access_key=ACCESS_KEY, secret_key=SECRET_KEY)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    """Each backend in turn, empty."""
    if request.param == "local":
        return LocalMediaStore(tmp_path / "media")
    return s3_store_for(request.getfixturevalue("seaweed"))


def test_round_trip_and_overwrite(store, tmp_path):
    key = narration_key("job-1", "audio.mp3")
    store.put_bytes(key, b"first version", "audio/mpeg")
    assert store.get_bytes(key) == b"first version"
    source = tmp_path / "new.mp3"
    source.write_bytes(os.urandom(300_000))
    store.put_file(key, source, "audio/mpeg")
    assert store.get_bytes(key) == source.read_bytes()


@pytest.mark.parametrize("name, content_type", [
    ("audio.mp3", "audio/mpeg"),
    ("chapters.json", "application/json"),
    ("transcript.vtt", "text/vtt"),
    ("parts/0.wav", "audio/wav"),
])
def test_stat_describes_each_output(store, name, content_type):
    key = narration_key("job-2", name)
    before = datetime.now(timezone.utc) - timedelta(seconds=2)
    store.put_bytes(key, b"x" * 1234)
    info = store.stat(key)
    assert info.size == 1234
    assert info.content_type == content_type
    assert info.modified.tzinfo is not None and before <= info.modified <= datetime.now(timezone.utc)
    assert info.etag.startswith('"') and info.etag.endswith('"') and len(info.etag) > 2


def test_etag_changes_with_content_and_missing_stat_is_none(store):
    key = narration_key("job-3", "audio.mp3")
    assert store.stat(key) is None
    store.put_bytes(key, b"one")
    first = store.stat(key).etag
    assert store.stat(key).etag == first  # stable while unchanged, so If-None-Match works
    store.put_bytes(key, b"two")
    assert store.stat(key).etag != first


@pytest.mark.parametrize("where", ["first byte", "last byte", "middle", "whole", "past the end"])
def test_read_range(store, where):
    data = os.urandom(100_003)
    key = narration_key("job-4", "audio.mp3")
    store.put_bytes(key, data)
    start, end = {"first byte": (0, 0), "last byte": (len(data) - 1, len(data) - 1),
                  "middle": (40_000, 70_000), "whole": (0, len(data) - 1),
                  "past the end": (len(data) - 10, len(data) + 500)}[where]
    assert store.read_range(key, start, end) == data[start:end + 1]


@pytest.mark.parametrize("start, end", [(0, None), (1000, None), (5, 150_000)])
def test_open_stream_yields_bounded_chunks_that_reassemble(store, start, end):
    data = os.urandom(200_000)
    key = narration_key("job-5", "audio.mp3")
    store.put_bytes(key, data)
    chunks = list(store.open_stream(key, start, end))
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in chunks)
    assert len(chunks) >= 3
    assert b"".join(chunks) == data[start:None if end is None else end + 1]


def test_delete_prefix_removes_one_job_only(store):
    mine = [narration_key("abc", n) for n in ("audio.mp3", "parts/0.wav", "chapters/0.mp3")]
    neighbour = narration_key("abcd", "audio.mp3")  # shares the string prefix, not the folder
    for key in [*mine, neighbour]:
        store.put_bytes(key, b"data")
    store.delete_prefix("narrations/abc")
    assert [store.stat(key) for key in mine] == [None, None, None]
    assert store.get_bytes(neighbour) == b"data"
    store.delete_prefix("narrations/never-existed")  # nothing to delete is not an error


def test_missing_key_raises_media_not_found(store):
    key = narration_key("job-6", "audio.mp3")
    with pytest.raises(MediaNotFound):
        store.get_bytes(key)
    with pytest.raises(MediaNotFound):
        store.open_stream(key)  # at once, before any chunk, so a server can answer 404
    with pytest.raises(MediaNotFound):
        store.read_range(key, 0, 10)


@pytest.mark.parametrize("key", [
    "../outside.mp3", "narrations/../../outside.mp3", "/etc/passwd", "narrations\\x.mp3",
    "narrations/x\x00.mp3", "", "narrations//x.mp3", "./x.mp3",
])
def test_unsafe_keys_are_refused(store, tmp_path, key):
    with pytest.raises(InvalidMediaKey):
        store.put_bytes(key, b"evil")
    with pytest.raises(InvalidMediaKey):
        store.get_bytes(key)
    assert not (tmp_path / "outside.mp3").exists()


@pytest.mark.parametrize("job_id, name, expected", [
    ("0b1c", "audio.mp3", "narrations/0b1c/audio.mp3"),
    ("0b1c", "parts/3.wav", "narrations/0b1c/parts/3.wav"),
    (uuid.UUID(int=1), "transcript.vtt", f"narrations/{uuid.UUID(int=1)}/transcript.vtt"),
])
def test_narration_key(job_id, name, expected):
    assert narration_key(job_id, name) == expected


@pytest.mark.parametrize("job_id, name", [("a/b", "audio.mp3"), ("..", "audio.mp3"), ("x", "../y")])
def test_narration_key_refuses_escapes(job_id, name):
    with pytest.raises(InvalidMediaKey):
        narration_key(job_id, name)


def test_open_media_store_reads_urls(tmp_path, monkeypatch):
    assert open_media_store(f"file://{tmp_path}/m").root == tmp_path / "m"
    assert open_media_store(str(tmp_path / "plain")).root == tmp_path / "plain"
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:1")
    s3 = open_media_store("s3://bucket/some/prefix/")
    assert (s3.bucket, s3.prefix, s3.endpoint_url) == ("bucket", "some/prefix", "http://127.0.0.1:1")
    for bad in ("ftp://host/x", "file://otherhost/x", "s3:///nobucket"):
        with pytest.raises(MediaStoreError, match="MEDIA_URL"):
            open_media_store(bad)


def test_check_passes_on_a_usable_store(store):
    store.check()


# --- local folder: atomic writes and unusable folders ---------------------------------------------

def leftovers(folder: Path) -> list[str]:
    """Temp files a failed write might have left behind."""
    return [p.name for p in folder.rglob("*") if p.name.endswith(".part")]


@pytest.mark.parametrize("earlier", [None, b"the earlier version"])
def test_local_put_file_failing_midway_leaves_nothing_partial(tmp_path, monkeypatch, earlier):
    store = LocalMediaStore(tmp_path / "media")
    key = narration_key("job-7", "audio.mp3")
    if earlier:
        store.put_bytes(key, earlier)
    source = tmp_path / "big.mp3"
    source.write_bytes(os.urandom(200_000))

    def copy_half_then_fail(src, dst, length=0):
        dst.write(src.read(100_000))
        dst.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", copy_half_then_fail)
    with pytest.raises(MediaStoreError, match="full"):
        store.put_file(key, source)
    assert leftovers(tmp_path / "media") == []
    if earlier:
        assert store.get_bytes(key) == earlier
    else:
        assert store.stat(key) is None


def test_local_full_disk_raises_and_keeps_the_earlier_version(tmp_path):
    with tmpfs(tmp_path / "small", "size=1m") as folder:
        store = LocalMediaStore(folder)
        key = narration_key("job-8", "audio.mp3")
        store.put_bytes(key, b"earlier" * 1000)
        free_before = shutil.disk_usage(folder).free
        source = tmp_path / "too-big.mp3"
        source.write_bytes(os.urandom(2 * 1024 * 1024))
        with pytest.raises(MediaStoreError, match="full") as raised:
            store.put_file(key, source)
        assert "MEDIA_URL" in str(raised.value)
        assert store.get_bytes(key) == b"earlier" * 1000
        assert leftovers(folder) == []
        assert shutil.disk_usage(folder).free == free_before  # the partial copy was removed


def test_local_check_explains_an_unwritable_folder(tmp_path):
    folder = tmp_path / "locked"
    if os.geteuid() == 0:  # root ignores chmod, so use a read-only filesystem instead
        context, expected = tmpfs(folder, "ro,size=1m"), "read-only"
    else:
        folder.mkdir()
        folder.chmod(0o500)
        context, expected = nullcontext(folder), "permission denied"
    with context:
        with pytest.raises(MediaStoreError, match=expected) as raised:
            LocalMediaStore(folder).check()
    assert str(folder) in str(raised.value) and "MEDIA_URL" in str(raised.value)


@pytest.mark.parametrize("error, phrase", [
    (errno.EACCES, "permission denied"), (errno.ENOSPC, "full"), (errno.EROFS, "read-only"),
    (errno.EIO, "Input/output error"),
])
def test_local_check_names_the_cause(tmp_path, monkeypatch, error, phrase):
    """Each OS failure becomes one sentence naming the folder (covers what root cannot provoke)."""
    def refuse(*args, **kwargs):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(MediaStoreError, match=phrase) as raised:
        LocalMediaStore(tmp_path).check()
    assert str(tmp_path) in str(raised.value)


# --- S3: configuration mistakes and a server that stops ---------------------------------------------

def test_s3_check_explains_wrong_credentials(seaweed):
    from state.media_s3 import S3MediaStore

    wrong = S3MediaStore(BUCKET, endpoint_url=seaweed.endpoint, access_key=ACCESS_KEY, secret_key="nope")
    with pytest.raises(MediaStoreError, match="AWS_SECRET_ACCESS_KEY"):
        wrong.check()


def test_s3_check_explains_a_missing_bucket(seaweed):
    from state.media_s3 import S3MediaStore

    missing = S3MediaStore("no-such-bucket", endpoint_url=seaweed.endpoint,
                           access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    with pytest.raises(MediaStoreError, match="does not exist"):
        missing.check()


def test_s3_put_file_multipart_round_trip(seaweed, tmp_path):
    store = s3_store_for(seaweed)
    source = tmp_path / "long.mp3"
    source.write_bytes(os.urandom(12 * 1024 * 1024))  # above boto3's 8 MB multipart threshold
    key = narration_key("job-9", "audio.mp3")
    store.put_file(key, source, "audio/mpeg")
    assert store.stat(key).size == source.stat().st_size
    assert store.read_range(key, 9_000_000, 9_000_099) == source.read_bytes()[9_000_000:9_000_100]


def test_s3_stopped_server_fails_fast_then_recovers(seaweed):
    """Keep this last: it stops and restarts the module's server."""
    store = s3_store_for(seaweed)
    key = narration_key("job-10", "audio.mp3")
    store.put_bytes(key, b"survives a restart")
    seaweed.crash()
    try:
        for operation in (store.check, lambda: store.get_bytes(key), lambda: store.stat(key),
                          lambda: store.put_bytes(key, b"lost")):
            started = time.monotonic()
            with pytest.raises(MediaStoreError, match="did not answer") as raised:
                operation()
            assert time.monotonic() - started < 10
            assert seaweed.endpoint in str(raised.value)
    finally:
        seaweed.start()
    store.check()
    assert store.get_bytes(key) == b"survives a restart"
