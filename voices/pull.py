"""`narrator voices pull MODEL`: fetch a model of Coqui's model list, then add its speakers as voices.

Only a person running that command downloads anything; narrations never do (the Coqui engine
loads from the cache and reports what is missing). Coqui's own ModelManager does the download,
into a staging folder beside Coqui's cache; the model folder is renamed into the cache only once it
is complete and readable, so a failed, interrupted or killed download leaves no half-installed
model (Coqui itself keeps a half-written folder when a server answers with an error page, and its
downloads have no timeout). The speakers are then written to `<data dir>/voices.pulled.json`,
which the catalogue reads, with the gender the model's own files give (a VCTK-style
speaker-info.txt or a speaker_genders.json), else "unknown".
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from narration.errors import NarrationError
from voices.engines.coqui import INSTALL_HINT, find_checkpoint, is_model_name, tts_cache_dir

log = logging.getLogger(__name__)

PULLED_FILE = "voices.pulled.json"
STAGING_PREFIX = ".narrator-pull-"
STALE_STAGING_SECONDS = 3600
"""A staging folder this old belongs to a pull that was killed; the next pull removes it."""
READ_TIMEOUT = 60
"""Seconds a download may stall before it fails (Coqui passes no timeout to requests)."""
GENDER_LETTERS = {"f": "female", "female": "female", "m": "male", "male": "male"}


class ModelPullError(NarrationError):
    """The model could not be fetched or is not one `pull` can install."""

    code = "model_pull_failed"


@dataclass(frozen=True)
class PulledModel:
    """What a pull installed and registered."""

    folder: Path
    voices: list[dict]
    catalogue_file: Path


def pulled_file() -> Path:
    """The catalogue file pulls write to, in the data folder."""
    from voices.engines import data_dir

    return data_dir() / PULLED_FILE


def pull_model(name: str, *, models_file: str | os.PathLike | None = None,
               progress_bar: bool = False) -> PulledModel:
    """Download `name` (unless already in Coqui's cache) and register its speakers."""
    try:
        from TTS.utils.manage import ModelManager
    except ImportError:
        raise ModelPullError(f"the Coqui engine is not installed: {INSTALL_HINT}.") from None

    manager = ModelManager(models_file=models_file, progress_bar=progress_bar)
    item = model_item(manager, name)
    cache = tts_cache_dir()
    folder = cache / name.replace("/", "--")
    if not folder.is_dir():
        download(manager, name, item, cache, models_file, progress_bar)
    voices = register(name, folder, item)
    return PulledModel(folder, voices, pulled_file())


def model_item(manager, name: str) -> dict:
    """The model's entry in the model list, refusing what `pull` cannot install unattended."""
    if not is_model_name(name):
        raise ModelPullError(f"{name!r} is not a Coqui model name; names look like "
                             "tts_models/en/vctk/vits (see Coqui's model list: tts --list_models).")
    _, language, dataset, model = name.split("/")
    item = manager.models_dict.get("tts_models", {}).get(language, {}).get(dataset, {}).get(model)
    if item is None:
        raise ModelPullError(f"Coqui's model list has no {name}; see tts --list_models.")
    if "repo_id" in item:
        raise ModelPullError(f"{name} lives on a model hub that Coqui asks on every load; "
                             "download it yourself and add its folder to a voices file.")
    if "github_rls_url" not in item:
        raise ModelPullError(f"{name} has no download address in the model list.")
    if item.get("tos_required") and os.environ.get("COQUI_TOS_AGREED") != "1":
        raise ModelPullError(f"{name} needs its license accepted: read it, then run again with "
                             "COQUI_TOS_AGREED=1.")
    return item


def download(manager, name: str, item: dict, cache: Path, models_file, progress_bar) -> None:
    """Coqui's download into a staging folder in the cache, then one rename into place."""
    from TTS.utils.manage import ModelManager

    cache.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(cache)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=cache))
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(READ_TIMEOUT)  # requests then gives up on a stalled download
    coqui_log = logging.getLogger("TTS.utils.manage")
    previous_level = coqui_log.level
    coqui_log.setLevel(logging.CRITICAL)  # it logs a traceback; our one-line error says it all
    try:
        staged = ModelManager(models_file=models_file, output_prefix=staging,
                              progress_bar=progress_bar)
        staged.download_model(name)
        vocoder = item.get("default_vocoder")
        if vocoder and not (cache / vocoder.replace("/", "--")).is_dir():
            staged.download_model(vocoder)
        downloaded = staging / "tts"
        for folder in sorted(downloaded.iterdir()):
            check_complete(folder)
        for folder in sorted(downloaded.iterdir()):
            os.replace(folder, cache / folder.name)  # atomic: complete, or not there at all
    except ModelPullError:
        raise
    except zipfile.BadZipFile as error:  # Coqui does not check the HTTP status
        raise ModelPullError(f"Downloading {name} failed (the server sent no model archive: "
                             "an error page or a cut-off file); nothing was installed, run the "
                             "command again.") from error
    except Exception as error:  # noqa: BLE001 - whatever failed, the download is unusable
        raise ModelPullError(f"Downloading {name} failed ({type(error).__name__}: {error}); "
                             "nothing was installed, run the command again.") from error
    finally:
        socket.setdefaulttimeout(previous_timeout)
        coqui_log.setLevel(previous_level)
        shutil.rmtree(staging, ignore_errors=True)
    log.info("installed %s into %s", name, cache)


def check_complete(folder: Path) -> None:
    """A downloaded model folder holds a readable config.json and a checkpoint."""
    try:
        json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelPullError(f"The download of {folder.name} has no readable config.json "
                             f"({error}); nothing was installed.") from None
    if find_checkpoint(folder, str(folder)) is None:
        raise ModelPullError(f"The download of {folder.name} has no model checkpoint; nothing "
                             "was installed.")


def remove_stale_staging(cache: Path) -> None:
    """Remove staging folders left by pulls that were killed (old enough to be nobody's now)."""
    for leftover in cache.glob(f"{STAGING_PREFIX}*"):
        if time.time() - leftover.stat().st_mtime > STALE_STAGING_SECONDS:
            shutil.rmtree(leftover, ignore_errors=True)


def speakers_of(folder: Path) -> list[str | None]:
    """The model's speaker names, from config.json or its speakers file; [None] for one voice."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    names = config.get("speakers") or (config.get("model_args") or {}).get("speakers")
    if names:
        return list(names)
    for file_name in ("speaker_ids.json", "speakers.json"):
        path = folder / file_name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data:
                return sorted(data, key=lambda speaker: data[speaker]
                              if isinstance(data[speaker], int) else 0)
    return [None]


def genders_of(folder: Path) -> dict[str, str]:
    """Speaker genders from the model's own files, where it has them: speaker_genders.json
    ({speaker: "female"|"male"}) or a VCTK-style speaker-info.txt (ID AGE GENDER ...)."""
    genders: dict[str, str] = {}
    mapping = folder / "speaker_genders.json"
    if mapping.is_file():
        data = json.loads(mapping.read_text(encoding="utf-8"))
        genders.update({str(k): GENDER_LETTERS[str(v).lower()] for k, v in data.items()
                        if str(v).lower() in GENDER_LETTERS})
    info = folder / "speaker-info.txt"
    if info.is_file():
        for line in info.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3 and fields[2].lower() in GENDER_LETTERS:
                speaker = fields[0] if fields[0].startswith("p") else f"p{fields[0]}"
                genders.setdefault(speaker, GENDER_LETTERS[fields[2].lower()])
    return genders


def register(name: str, folder: Path, item: dict) -> list[dict]:
    """Write the model's speakers into the pulled-voices file (replacing this model's entries)."""
    _, language, dataset, model = name.split("/")
    genders = genders_of(folder)
    entries = []
    for speaker in speakers_of(folder):
        suffix = f"-{_slug(speaker)}" if speaker else ""
        entries.append({
            "id": f"{dataset}-{model}{suffix}".lower(),
            "name": f"{speaker or dataset} ({dataset} {model}, Coqui)",
            "gender": genders.get(speaker or "", "unknown"), "engine": "coqui", "model": name,
            "speaker": speaker, "language": language,
            "license": item.get("license") or "unknown",
            "provenance": f"Coqui model list: {name}, pulled {time.strftime('%Y-%m-%d')}"})
    path = pulled_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = []
    if path.is_file():
        kept = [entry for entry in json.loads(path.read_text(encoding="utf-8")).get("voices", [])
                if entry.get("model") != name]
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp",
                                     encoding="utf-8") as temp:
        json.dump({"voices": kept + entries}, temp, indent=2)
    os.replace(temp.name, path)
    return entries


def _slug(text: str) -> str:
    """A speaker name as part of a voice id."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "speaker"
