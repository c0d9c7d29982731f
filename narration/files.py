"""Atomic file writes: a reader sees the old file or the whole new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path`; rename it onto `path` on success, delete it on failure.

    The temp file lives in the same directory because a rename is only atomic within one
    file system. Its name starts with a dot so directory listings and feeds skip it.
    """
    target = Path(path)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        # mkstemp makes the file 0600; published media should read like any other file.
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` in one step, so a crash never leaves a truncated file."""
    with atomic_path(path) as temp:
        temp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 text to `path` in one step."""
    atomic_write_bytes(path, text.encode("utf-8"))
