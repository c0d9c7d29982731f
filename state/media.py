"""The media store: where narration outputs (MP3, chapters, transcript, chapter parts) live.

Two backends share one API: a local folder (`file:///abs/path` or a plain path) and S3-compatible
object storage (`s3://bucket/prefix`, see state/media_s3.py). Keys are relative POSIX paths such as
`narrations/<job id>/audio.mp3`; a reader never sees a partly written object.
"""

from __future__ import annotations

import abc
import errno
import logging
import mimetypes
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from stat import S_ISREG
from urllib.parse import unquote, urlsplit

from narration.errors import NarrationError

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024  # the size of each piece open_stream yields: small enough to serve many at once
_COPY_BUFFER = 1024 * 1024

# Our own table first: mimetypes differs between Python versions (.wav is audio/x-wav in 3.11).
_CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".json": "application/json",
    ".vtt": "text/vtt",
    ".wav": "audio/wav",
}


class MediaNotFound(NarrationError):
    """The key names no object in the store."""

    code = "media_not_found"
    status = 404


class MediaStoreError(NarrationError):
    """The store cannot be used (unreachable, full, not writable, bucket missing)."""

    code = "media_unavailable"
    status = 503


class InvalidMediaKey(NarrationError, ValueError):
    """A key that could escape the store's folder or is not a plain relative POSIX path."""

    code = "invalid_media_key"
    status = 400


@dataclass(frozen=True)
class MediaInfo:
    """What HTTP needs to serve an object: Content-Length, ETag, Last-Modified, Content-Type.

    `etag` is a strong validator in HTTP form, double quotes included, ready for the ETag header.
    `modified` is a timezone-aware UTC datetime.
    """

    size: int
    etag: str
    modified: datetime
    content_type: str


def check_key(key: str) -> str:
    """Refuse keys that are absolute, climb out with '..', or hold backslashes or NUL bytes."""
    # Our own check rather than werkzeug.security.safe_join: it also has to hold for S3 keys,
    # where '..' is not special to the store but is to every local mirror or download of it.
    reason = None
    if not isinstance(key, str) or not key:
        reason = "it is empty"
    elif "\x00" in key or "\\" in key:
        reason = "it holds a NUL byte or a backslash"
    elif key.startswith("/"):
        reason = "it is an absolute path"
    elif any(part in ("", ".", "..") for part in key.split("/")):
        reason = "it has an empty, '.' or '..' segment"
    if reason:
        raise InvalidMediaKey(
            f"Media key {key!r} is refused because {reason}; "
            "use a relative POSIX path like narrations/<job id>/audio.mp3."
        )
    return key


def narration_key(job_id: object, name: str) -> str:
    """The key of one output of a job, e.g. narration_key(id, "parts/3.wav")."""
    job_part = str(job_id)
    if "/" in job_part:
        raise InvalidMediaKey(f"Job id {job_part!r} must not contain '/'.")
    return check_key(f"narrations/{job_part}/{check_key(name)}")


def feed_key(feed_id: object, name: str) -> str:
    """The key of a feed's file, e.g. feed_key(id, "artwork.png")."""
    feed_part = str(feed_id)
    if "/" in feed_part:
        raise InvalidMediaKey(f"Feed id {feed_part!r} must not contain '/'.")
    return check_key(f"feeds/{feed_part}/{check_key(name)}")


def content_type_for(key: str) -> str:
    """The Content-Type a key's extension implies (application/octet-stream when unknown)."""
    suffix = os.path.splitext(key)[1].lower()
    guessed = _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0]
    return guessed or "application/octet-stream"


class ChunkStream:
    """Yields an object's bytes in CHUNK_SIZE pieces; close() releases the file or connection.

    A class rather than a generator so that close() works before the first chunk too (WSGI servers
    call it when a client goes away), and so read errors become MediaStoreError.
    """

    def __init__(self, read: Callable[[int], bytes], close: Callable[[], None], remaining: int,
                 describe_error: Callable[[Exception], MediaStoreError]):
        self._read, self._close, self._remaining = read, close, remaining
        self._describe_error = describe_error

    def __iter__(self) -> ChunkStream:
        return self

    def __next__(self) -> bytes:
        if self._remaining <= 0:
            self.close()
            raise StopIteration
        try:
            chunk = self._read(min(CHUNK_SIZE, self._remaining))
        except Exception as exc:  # an I/O error half-way is a store failure, not a bug
            self.close()
            raise self._describe_error(exc) from exc
        if not chunk:
            self.close()
            raise StopIteration
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        """Release the underlying file or HTTP body; safe to call twice."""
        self._remaining = 0
        self._close()


class MediaStore(abc.ABC):
    """The operations every backend offers; see the module docstring for the key rules."""

    @abc.abstractmethod
    def put_file(self, key: str, local_path: str | os.PathLike, content_type: str | None = None) -> None:
        """Store a local file under key atomically (readers see the old object or the whole new one)."""

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store bytes under key atomically."""

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The whole object; MediaNotFound when missing."""

    @abc.abstractmethod
    def stat(self, key: str) -> MediaInfo | None:
        """Size, ETag, modification time and type of an object, or None when missing."""

    @abc.abstractmethod
    def open_stream(self, key: str, start: int = 0, end: int | None = None) -> ChunkStream:
        """Bytes start..end (inclusive; None = to the end) in chunks; MediaNotFound raised at once."""

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Delete every object under the folder `prefix` (e.g. narrations/<id>); missing is fine."""

    @abc.abstractmethod
    def check(self) -> None:
        """Prove the store is reachable and writable, else raise MediaStoreError saying what to fix."""

    def read_range(self, key: str, start: int, end_inclusive: int) -> bytes:
        """Bytes start..end_inclusive, clamped to the object's end (as HTTP Range does)."""
        return b"".join(self.open_stream(key, start, end_inclusive))


def check_range(start: int, end: int | None) -> None:
    """Refuse negative or reversed ranges: those are caller bugs, not missing data."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"Byte range {start}-{end} is not valid; need 0 <= start <= end.")


class LocalMediaStore(MediaStore):
    """Objects as files under one folder; each write goes to a temp file that os.replace() swaps in.

    ETag: built from size, mtime_ns and inode, at the cost of one stat() (no hashing of large MP3s).
    Every put swaps in a new file, so the ETag changes with the content; the one blind spot is two
    puts of equal size within one timestamp tick that also reuse the same inode number.
    Content-Type: inferred from the key's extension, so the content_type arguments are not kept.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalMediaStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _store_error(self, exc: OSError, action: str) -> MediaStoreError:
        """One readable sentence for an OS error, naming the folder and what to do."""
        where = f"media folder {self.root}"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return MediaStoreError(f"Cannot {action}: the {where} is full (no space left on device); "
                                   "free some space or point MEDIA_URL at a larger disk.")
        if exc.errno == errno.EROFS:
            return MediaStoreError(f"Cannot {action}: the {where} is on a read-only filesystem; "
                                   "remount it read-write or point MEDIA_URL at a writable folder.")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return MediaStoreError(f"Cannot {action}: permission denied in the {where} for user id "
                                   f"{os.getuid()}; give that user access or point MEDIA_URL elsewhere.")
        return MediaStoreError(f"Cannot {action} in the {where}: {exc.strerror or exc}.")

    def _write_atomically(self, key: str, write: Callable[[object], None]) -> None:
        """Write via a temp file in the target folder, fsync, then os.replace over the key."""
        target = self._path(key)
        temp_name = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Not mkstemp (always 0600): the file gets the process's umask like any other, so
            # NARRATOR_FILE_MODE decides who may read media (0600 alone, 0660 a shared group).
            temp_name = str(target.parent / f".{target.name}.{secrets.token_hex(8)}.part")
            fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
            with os.fdopen(fd, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp_name, target)
            temp_name = None
            _fsync_folder(target.parent)
        except OSError as exc:
            raise self._store_error(exc, f"store {key}") from exc
        finally:
            if temp_name is not None:
                _remove_quietly(temp_name)

    def put_file(self, key, local_path, content_type=None):
        with open(local_path, "rb") as source:
            self._write_atomically(key, lambda out: shutil.copyfileobj(source, out, _COPY_BUFFER))

    def put_bytes(self, key, data, content_type=None):
        self._write_atomically(key, lambda out: out.write(data))

    def get_bytes(self, key):
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise MediaNotFound(f"No media stored under {key}.") from None
        except OSError as exc:
            raise self._store_error(exc, f"read {key}") from exc

    def stat(self, key):
        try:
            st = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._store_error(exc, f"read {key}") from exc
        if not S_ISREG(st.st_mode):  # a folder of keys is not an object
            return None
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}"'
        modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=timezone.utc)
        return MediaInfo(st.st_size, etag, modified, content_type_for(key))

    def open_stream(self, key, start=0, end=None):
        check_range(start, end)
        try:
            handle = open(self._path(key), "rb")
            size = os.fstat(handle.fileno()).st_size
            handle.seek(start)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise MediaNotFound(f"No media stored under {key}.") from None
        except OSError as exc:
            raise self._store_error(exc, f"read {key}") from exc
        last = size - 1 if end is None else min(end, size - 1)
        return ChunkStream(handle.read, handle.close, last - start + 1,
                           lambda exc: self._store_error(exc, f"read {key}"))

    def delete_prefix(self, prefix):
        folder = self._path(prefix.rstrip("/"))
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._store_error(exc, f"delete {prefix}") from exc

    def check(self):
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(prefix=".narrator-check.", dir=self.root) as probe:
                probe.write(b"narrator media store check\n" * 64)
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as exc:
            raise self._store_error(exc, "write") from exc


def _fsync_folder(folder: Path) -> None:
    """Persist the rename itself, so a power cut cannot bring back the old object."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    """Remove a temp file after a failed write; the original error matters more than this one."""
    try:
        os.unlink(path)
    except OSError:
        log.warning("could not remove temp file %s", path)


def open_media_store(url: str, *, s3_endpoint_url: str | None = None) -> MediaStore:
    """The store MEDIA_URL names: file:///abs/path, a plain path, or s3://bucket/prefix."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        from state.media_s3 import S3MediaStore  # boto3 is only needed by S3 users

        if not parts.netloc:
            raise MediaStoreError(f"MEDIA_URL {url!r} names no bucket; use s3://bucket/prefix.")
        endpoint = s3_endpoint_url or os.environ.get("S3_ENDPOINT_URL") or None
        return S3MediaStore(parts.netloc, parts.path.strip("/"), endpoint_url=endpoint)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise MediaStoreError(f"MEDIA_URL {url!r} names a host; use file:///absolute/path.")
        return LocalMediaStore(unquote(parts.path))
    if parts.scheme == "":  # a plain path
        return LocalMediaStore(url)
    raise MediaStoreError(
        f"MEDIA_URL {url!r} is not supported; use file:///absolute/path or s3://bucket/prefix."
    )
