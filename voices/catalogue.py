"""The voice catalogue: voices are data (catalogue.json plus an optional user file), not code."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from narration.errors import VoiceNotFoundError

log = logging.getLogger(__name__)

BUNDLED_CATALOGUE = Path(__file__).with_name("catalogue.json")
GENDERS = ("female", "male")
UNKNOWN_GENDER = "unknown"
"""Allowed outside the bundled catalogue: a pulled model whose files do not say (hear the sample)."""
REQUIRED_FIELDS = ("id", "name", "gender", "engine", "model", "speaker", "language")
# A user entry may leave these out: a downloaded Coqui model rarely comes with them spelled out.
OPTIONAL_DEFAULTS = {"sample_rate": None, "license": "unknown", "provenance": None, "base_speed": 1.0,
                     "blend": None}
MAX_BLEND_PARTS = 8
"""More parts than this add nothing audible; it also bounds what a user can ask for."""


class CatalogueError(ValueError):
    """A catalogue file is malformed; raised at start-up, the message names the file and entry."""


@dataclass(frozen=True)
class Voice:
    """One catalogue entry: which engine speaks it, from which model, as which speaker."""

    id: str
    """Stable name used in requests and the sentence cache."""
    name: str
    """Display name."""
    gender: str
    """"female" or "male" ("unknown" for a pulled model that does not say): shown to users and
    used by aliases only; no code branches on it."""
    engine: str
    """"piper", "kokoro" or "coqui" (a module in voices/engines)."""
    model: str
    """A Python package that ships the model, a model file/folder path, or a Coqui model name."""
    speaker: str | None
    """Speaker inside a multi-speaker model, or None."""
    language: str
    """Language of the text it reads, e.g. "en-us"."""
    sample_rate: int | None
    """Rate of the audio the engine returns (None in a user entry: known once loaded)."""
    license: str
    """License of the voice model."""
    provenance: str | None
    """Where the model comes from (which registry packages, or which user file)."""
    base_speed: float = 1.0
    """Speaking-rate factor applied at speed 1.0, so every voice has a similar pace."""
    blend: tuple[tuple[str, float], ...] | None = None
    """A weighted mix of the engine's speakers ((speaker, weight), weights summing to 1), for
    engines whose speakers are style vectors (Kokoro); None for a single speaker."""
    source: str = field(default="bundled", compare=False)
    """The catalogue file this entry came from (for error messages)."""

    @property
    def installed(self) -> bool:
        """Engine package importable and model present; cheap, nothing is loaded."""
        from voices.engines import missing

        return missing(self) is None

    def to_dict(self) -> dict:
        """The entry as JSON-ready data, with `installed` computed now."""
        data = asdict(self)
        data.pop("source")
        data["blend"] = dict(self.blend) if self.blend else None
        data["installed"] = self.installed
        return data


@dataclass(frozen=True)
class Catalogue:
    """All known voices plus aliases (e.g. "male", "female") that name one of them."""

    voices: list[Voice]
    aliases: dict[str, str]

    def find(self, name: str, *, field: str = "voice") -> Voice:
        """The voice with this id or alias (case-insensitive), else VoiceNotFoundError naming
        `field` (the request field that gave the name)."""
        wanted = (name or "").strip().lower()
        by_id = {voice.id.lower(): voice for voice in self.voices}
        target = {alias.lower(): voice_id for alias, voice_id in self.aliases.items()}.get(wanted)
        voice = by_id.get(target.lower() if target else wanted)
        if voice is None:
            available = ", ".join([*self.aliases, *(voice.id for voice in self.voices)])
            raise VoiceNotFoundError(
                f"Unknown voice {name!r}. Available voices: {available}.", field=field)
        return voice


    def with_voices(self, extra: list[Voice]) -> Catalogue:
        """This catalogue plus `extra` voices (a user's own), which never replace an entry: one
        whose id the operator's catalogue took later is left out (logged), the catalogue wins."""
        taken = {voice.id.lower() for voice in self.voices} | {a.lower() for a in self.aliases}
        kept = [voice for voice in extra if voice.id.lower() not in taken]
        for voice in extra:
            if voice not in kept:
                log.warning("a user's voice %r is hidden: the catalogue has that id now", voice.id)
        return Catalogue(voices=[*self.voices, *kept], aliases=self.aliases)

    def has(self, name: str) -> bool:
        """Whether an id or alias (case-insensitive) names a voice here."""
        wanted = (name or "").strip().lower()
        return any(wanted == key.lower() for key in
                   [*self.aliases, *(voice.id for voice in self.voices)])


def load_catalogue(extra: str | Path | None = None) -> Catalogue:
    """The bundled catalogue merged with a user file (`extra`, else NARRATOR_VOICES_FILE).

    User entries with an id already in the catalogue replace that entry; user aliases win too.
    """
    from voices.pull import pulled_file

    voices, aliases = _read_file(BUNDLED_CATALOGUE)
    if extra is None:
        from narration.settings import load_settings

        extra = load_settings().voices_file or None
    # Models fetched with `narrator voices pull` (in the data folder), then the user's own file.
    layers = [path for path in (pulled_file(), Path(extra).expanduser() if extra else None)
              if path is not None and (path.exists() or path != pulled_file())]
    for path in layers:
        user_voices, user_aliases = _read_file(path)
        replaced = {voice.id for voice in user_voices}
        voices = [voice for voice in voices if voice.id not in replaced] + user_voices
        aliases = {**aliases, **user_aliases}
    ids = {voice.id for voice in voices}
    for alias, voice_id in aliases.items():
        if voice_id not in ids:
            raise CatalogueError(f"Voice alias {alias!r} points to {voice_id!r}, which no catalogue "
                                 f"entry has; fix the alias in {extra or BUNDLED_CATALOGUE}.")
    return Catalogue(voices=voices, aliases=aliases)


def _read_file(path: Path) -> tuple[list[Voice], dict[str, str]]:
    """Entries and aliases of one catalogue file: a JSON list of entries, or {"voices", "aliases"}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"Voice catalogue file {path} does not exist; create it or unset "
                             "NARRATOR_VOICES_FILE.") from None
    except (OSError, ValueError) as error:
        raise CatalogueError(f"Voice catalogue file {path} is not readable JSON: {error}") from None
    entries, aliases = (data, {}) if isinstance(data, list) else (data.get("voices", []),
                                                                   data.get("aliases", {}))
    if not isinstance(entries, list) or not isinstance(aliases, dict):
        raise CatalogueError(f"{path}: expected a list of voices or "
                             '{"voices": [...], "aliases": {...}}.')
    bundled = path == BUNDLED_CATALOGUE
    return [_parse_entry(entry, path, bundled) for entry in entries], dict(aliases)


def _parse_entry(entry: dict, path: Path, bundled: bool) -> Voice:
    """One checked Voice; a user entry gets defaults for what it may leave out."""
    from voices.engines import ENGINES

    where = f"{path}, entry {entry.get('id', '?')!r}" if isinstance(entry, dict) else str(path)
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: each voice must be a JSON object.")
    absent = [key for key in REQUIRED_FIELDS if key not in entry]
    if absent:
        raise CatalogueError(f"{where}: missing field(s) {', '.join(absent)}.")
    genders = GENDERS if bundled else (*GENDERS, UNKNOWN_GENDER)
    if entry["gender"] not in genders:
        raise CatalogueError(f"{where}: gender must be one of {', '.join(genders)}.")
    if entry["engine"] not in ENGINES:
        raise CatalogueError(f"{where}: engine must be one of {', '.join(ENGINES)}.")
    defaults = {**OPTIONAL_DEFAULTS, "provenance": f"user catalogue {path}"}
    values = {key: entry.get(key, defaults.get(key)) for key in Voice.__dataclass_fields__}
    values["model"] = _resolve_model(str(entry["model"]), path.parent)
    values["source"] = "bundled" if bundled else str(path)
    if values["blend"] is not None:
        try:
            values["blend"] = check_blend(values["blend"], entry["engine"])
        except ValueError as error:
            raise CatalogueError(f"{where}: {error}") from None
    try:
        values["base_speed"] = float(values["base_speed"])
        values["sample_rate"] = None if values["sample_rate"] is None else int(values["sample_rate"])
    except (TypeError, ValueError):
        raise CatalogueError(f"{where}: sample_rate and base_speed must be numbers.") from None
    return Voice(**values)


def check_blend(blend: object, engine: str) -> tuple[tuple[str, float], ...]:
    """A blend as ((speaker, weight), ...) sorted by speaker, weights scaled to sum to 1.

    ValueError (with a message fit for a user) when the engine cannot mix voices or the blend
    is not a mapping of speaker names to positive weights.
    """
    from voices.engines import engine_module

    if not getattr(engine_module(engine), "BLENDS", False):
        raise ValueError(f"the {engine} engine cannot blend voices; blends are for engines "
                         "whose voices mix (kokoro).")
    if not isinstance(blend, dict) or not blend:
        raise ValueError('blend must map speaker names to weights, e.g. {"jf_alpha": 0.6, '
                         '"jf_nezumi": 0.4}.')
    if len(blend) > MAX_BLEND_PARTS:
        raise ValueError(f"a blend mixes at most {MAX_BLEND_PARTS} voices, not {len(blend)}.")
    weights = {}
    for speaker, weight in blend.items():
        if not isinstance(speaker, str) or not speaker:
            raise ValueError("blend keys must be speaker names.")
        try:
            weights[speaker] = float(weight) if not isinstance(weight, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            weights[speaker] = math.nan
        if not weights[speaker] > 0 or not math.isfinite(weights[speaker]) or \
                isinstance(weight, str):
            raise ValueError(f"the weight of {speaker!r} must be a positive number, got "
                             f"{str(weight)[:20]!r}.")
    total = sum(weights.values())
    if not math.isfinite(total):
        raise ValueError("blend weights are too large; use numbers like 0.7 and 0.3.")
    return tuple(sorted((speaker, weight / total) for speaker, weight in weights.items()))


def _resolve_model(model: str, base: Path) -> str:
    """Expand "~" and make "./x" or "../x" relative to the catalogue file, so user files move."""
    if model.startswith("~"):
        return str(Path(model).expanduser())
    if model.startswith(("./", "../")):
        return str((base / model).resolve())
    return model
