"""Data at rest: what the service creates is its owner's only by default (folders 0700, files
0600), or a shared group's with NARRATOR_FILE_MODE=0660; never readable by everyone on the host."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
WRITE_EVERYTHING = """
import numpy as np
from narration.audio import Audio
from narration.cache import SentenceCache
from narration.settings import apply_file_mode, load_settings
from state.media import open_media_store

settings = load_settings()
apply_file_mode(settings)
cache = SentenceCache(settings.sentence_cache_dir, 1 << 20)
cache.put("k" * 64, Audio(np.zeros(40000, dtype=np.float32), 22050))
cache.close()
store = open_media_store(settings.media)
store.check()
store.put_bytes("narrations/x/audio.mp3", b"ID3" + bytes(100), "audio/mpeg")
"""


def run(data: Path, *command: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"NARRATOR_DATA_DIR": str(data), "PYTHONPATH": str(ROOT),
                                            "PATH": "/usr/bin:/bin", **env})


def modes(folder: Path) -> dict[str, int]:
    """Every file and folder under `folder` (and itself), with its permission bits."""
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


@pytest.mark.parametrize("setting, folders, files", [(None, 0o700, 0o600),
                                                      ("0660", 0o770, 0o660)])
def test_the_data_folder_and_everything_in_it_are_private_by_default(tmp_path, setting, folders,
                                                                     files):
    data = tmp_path / "data"
    env = {"NARRATOR_FILE_MODE": setting} if setting else {}
    created = run(data, "-m", "cli", "users", "create", "ada", **env)
    assert created.returncode == 0, created.stderr
    written = run(data, "-c", WRITE_EVERYTHING, **env)
    assert written.returncode == 0, written.stderr
    found = modes(data)
    assert {"narrator.db", "sentence-cache/cache.db", "media/narrations/x/audio.mp3"} <= set(found)
    for name, mode in found.items():
        if name.split("/")[-1].split("-")[0].endswith(".db"):  # SQLite makes its files 0644 at most
            assert mode == files & 0o640, f"{name}: {oct(mode)}"
            continue
        is_folder = (data / name).is_dir()
        assert mode == (folders if is_folder else files), f"{name}: {oct(mode)}"


def test_an_open_data_folder_from_an_older_release_is_closed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    assert run(data, "-m", "cli", "users", "create", "ada").returncode == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


@pytest.mark.parametrize("value", ["0644x", "0400", "0777", "0700", "600"])
def test_a_file_mode_that_cannot_be_used_is_refused_in_one_line(tmp_path, value):
    result = run(tmp_path / "data", "-m", "cli", "users", "list", NARRATOR_FILE_MODE=value)
    if value == "600":  # octal without the leading zero is the same mode
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0 and "NARRATOR_FILE_MODE" in result.stderr
    assert "Traceback" not in result.stderr
