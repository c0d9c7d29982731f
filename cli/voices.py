"""`narrator voices`: the catalogue as a table; hear a voice's sample; pull a Coqui model."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import voices

PLAYERS = (("mpv", "--no-video", "--really-quiet"), ("ffplay", "-nodisp", "-autoexit",
           "-loglevel", "quiet"), ("mpg123", "-q"), ("paplay",), ("afplay",))
"""Command-line players tried in order for --play; the first one installed plays the sample."""


def run(args) -> int:
    """List the voices, or write (--sample) or play (--play) one voice's sample."""
    if args.sample or args.play:
        return run_sample(args)
    catalogue = voices.load_catalogue()
    rows = [("ID", "NAME", "GENDER", "ENGINE", "LANG", "INSTALLED")]
    for voice in catalogue.voices:
        rows.append((voice.id, voice.name, voice.gender, voice.engine, voice.language,
                     "yes" if voice.installed else "no"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for alias, target in sorted(catalogue.aliases.items()):
        print(f"alias {alias} -> {target}")
    return 0


def run_sample(args) -> int:
    """Render (once) the voice's sample; copy it to -o, or play it."""
    from voices.samples import ensure_sample

    voice = voices.load_catalogue().find(args.sample or args.play)
    sample = ensure_sample(voice)
    pitch = f", median pitch {sample.median_pitch_hz:.0f} Hz" if sample.median_pitch_hz else ""
    if args.sample:
        output = args.output or Path(f"{voice.id}-sample.mp3")
        shutil.copyfile(sample.path, output)
        print(f"wrote {output} ({sample.seconds:.1f} s{pitch})")
        return 0
    player = next((command for command in PLAYERS if shutil.which(command[0])), None)
    if player is None:
        print(f"{voice.id}: {sample.path} ({sample.seconds:.1f} s{pitch}); no audio player found "
              "here (mpv, ffplay, mpg123, paplay): open the file with any player.")
        return 0
    print(f"playing {voice.id} ({sample.seconds:.1f} s{pitch}) with {player[0]}")
    return subprocess.run([*player, str(sample.path)], check=False).returncode


def run_pull(args) -> int:
    """Fetch a model from Coqui's model list and register its speakers as voices."""
    from voices.pull import pull_model

    pulled = pull_model(args.model, models_file=args.models_file, progress_bar=sys.stderr.isatty())
    print(f"pulled {args.model} into {pulled.folder}")
    for voice in pulled.voices:
        print(f"  voice {voice['id']} ({voice['gender'] or 'gender unknown'})")
    print(f"registered {len(pulled.voices)} voice(s) in {pulled.catalogue_file}")
    return 0
