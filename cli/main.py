"""The `narrator` command: argument parsing and one-line errors.

Each command's module is imported only when that command runs, so `narrator --help` does not pay
for the audio and text libraries `narrate` needs (bench/startup.py measures it).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user's mistake becomes one line on stderr and exit status 1."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from narration.errors import NarrationError
    from narration.settings import SettingError
    from voices import CatalogueError

    try:
        module, function = args.run.split(":")
        return getattr(importlib.import_module(module), function)(args)
    except (NarrationError, SettingError, CatalogueError) as error:
        print(f"narrator: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("narrator: interrupted; nothing was written.", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="narrator", description="Turn reviews and articles into chaptered MP3 narrations.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    p = commands.add_parser("narrate", help="narrate a text file (or - for stdin) to an MP3")
    p.add_argument("input", metavar="FILE", help="a .txt or .md file, or - to read stdin")
    p.add_argument("-o", "--output", type=Path,
                   help="the MP3 to write (default: the input's name with .mp3)")
    p.add_argument("--voice", default="female", help="a voice id or alias (see `narrator voices`)")
    p.add_argument("--quote-voice", metavar="VOICE",
                   help="a second voice for block quotes and quoted dialogue (default: none, "
                        "the one voice reads everything)")
    p.add_argument("--speed", type=float, default=1.0, help="0.5 to 2.0 (default 1.0)")
    p.add_argument("--format", choices=("auto", "plain", "markdown"), default="auto",
                   help="how to read the input (default: by file extension)")
    p.add_argument("--title", default="", help="episode title, when the text does not give one")
    p.add_argument("--author", default="", help="who wrote the text (the MP3's artist)")
    p.add_argument("--cover", type=Path, help="a square JPEG or PNG to embed as cover art")
    p.add_argument("--no-cache", action="store_true", help="synthesize every sentence afresh")
    p.add_argument("--lexicon", type=Path, action="append", default=[], metavar="FILE",
                   help="a pronunciation lexicon (PLS, or lines of: word, respelling or /IPA/); "
                        "repeatable, later files win")
    p.add_argument("--check", action="store_true",
                   help="check the narration with a speech recognizer, retake sentences it "
                        "cannot hear right, and write NAME.check.json beside the MP3")
    p.set_defaults(run="cli.narrate:run")

    p = commands.add_parser("up", help="run the web service, a worker and Redis on this machine")
    p.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--workers", type=int, default=0,
                   help="worker processes (default: one per core)")
    p.add_argument("--verbose", action="store_true",
                   help="show what Redis, the worker and the web process print (default: they "
                        "write to narrator.log in the data folder)")
    p.set_defaults(run="cli.up:run")

    p = commands.add_parser("voices", help="list the voices and whether each is installed; "
                            "hear one; pull a Coqui model")
    p.add_argument("--play", metavar="ID", help="play a voice's short sample")
    p.add_argument("--sample", metavar="ID", help="write a voice's short sample to an MP3")
    p.add_argument("-o", "--output", type=Path, help="where --sample writes (default ID-sample.mp3)")
    p.set_defaults(run="cli.voices:run")
    pull = p.add_subparsers(metavar="ACTION").add_parser(
        "pull", help="download a model from Coqui's model list and add its speakers as voices")
    pull.add_argument("model", help="a Coqui model name, e.g. tts_models/en/vctk/vits")
    pull.add_argument("--models-file", type=Path,
                      help="a model list in Coqui's .models.json format (default: Coqui's own)")
    pull.set_defaults(run="cli.voices:run_pull")

    p = commands.add_parser("users", help="manage the users of a shared service and their keys")
    actions = p.add_subparsers(required=True, metavar="ACTION")
    for name, run, help_text in (
            ("create", "cli.users:run_create", "create a user; prints their API key (shown once)"),
            ("new-key", "cli.users:run_new_key", "print one more API key for a user"),
            ("revoke", "cli.users:run_revoke", "revoke every API key of a user")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("name", help="the user's name (letters, digits, . _ @ -)")
        action.set_defaults(run=run)
    actions.add_parser("list", help="list the users").set_defaults(run="cli.users:run_list")
    return parser
