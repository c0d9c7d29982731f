"""The `narrator` command as a user runs it: a real process, real voices, real files."""

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from mutagen.id3 import ID3

ROOT = Path(__file__).resolve().parents[1]
SHORT = "A Short Review\n\nIt opens well and ends better.\n\nThe Ending\n\nIt lands. I would watch it twice.\n"


def narrator(*args, cwd, env=None, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=cwd, capture_output=True, text=True,
        input=stdin, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=600)


@pytest.fixture
def env(tmp_path):
    return {"NARRATOR_DATA_DIR": str(tmp_path / "data")}


def test_narrate_writes_mp3_chapters_and_transcript_quietly(tmp_path, env):
    (tmp_path / "review.txt").write_text(SHORT)
    result = narrator("narrate", "review.txt", "--voice", "male", "-o", "her.mp3",
                      cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not a terminal: no progress bar
    assert "her.mp3" in result.stdout
    chapters = json.loads((tmp_path / "her.chapters.json").read_text())["chapters"]
    assert [c["title"] for c in chapters][-1] == "The Ending"
    assert "It lands." in (tmp_path / "her.vtt").read_text()
    assert len(ID3(tmp_path / "her.mp3").getall("CHAP")) == len(chapters)


def test_quote_voice_reads_the_quotes_and_the_transcript_names_the_voices(tmp_path, env):
    (tmp_path / "review.md").write_text(
        "# Her\n\nIt opens well.\n\n> The past is just a story we tell ourselves.\n")
    result = narrator("narrate", "review.md", "--voice", "male", "--quote-voice", "male",
                      cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    transcript = (tmp_path / "review.vtt").read_text()
    assert "<v Narrator>It opens well.</v>" in transcript
    assert "<v Quote>The past is just a story we tell ourselves.</v>" in transcript


def test_stdin_is_read_when_the_file_is_a_dash(tmp_path, env):
    result = narrator("narrate", "-", "--voice", "male", "-o", "x.mp3", cwd=tmp_path, env=env,
                      stdin="Just one short sentence.")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.mp3").stat().st_size > 0


def test_a_terminal_gets_a_progress_bar_with_chapters_and_sentences(tmp_path, env):
    (tmp_path / "review.txt").write_text(SHORT)
    pid, fd = pty.fork()
    if pid == 0:  # the child runs narrator with the pty as its terminal
        os.chdir(tmp_path)
        os.environ.update(env, PYTHONPATH=str(ROOT))
        os.execv(sys.executable, [sys.executable, "-m", "cli", "narrate", "review.txt",
                                  "--voice", "male", "-o", "her.mp3"])
    output = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "chapter 2/2" in text and "sentences" in text and "100%" in text


def test_voices_lists_the_catalogue_with_what_is_installed(tmp_path, env):
    result = narrator("voices", cwd=tmp_path, env=env)
    assert result.returncode == 0
    assert "en_US-joe-medium" in result.stdout and "jf_gongitsune" in result.stdout
    assert "alias female -> jf_gongitsune" in result.stdout


def missing_coqui_catalogue(tmp_path):
    path = tmp_path / "voices.json"
    path.write_text(json.dumps([{
        "id": "my-coqui", "name": "My Coqui", "gender": "female", "engine": "coqui",
        "model": str(tmp_path / "no-such-model"), "speaker": None, "language": "en",
        "sample_rate": 22050, "license": "?", "provenance": "test"}]))
    return str(path)


@pytest.mark.parametrize("case, content, args, message", [
    ("empty", "   \n\n", [], "empty"),
    ("nothing speakable", "😀 😀\n\n!!! ???", [], "nothing"),
    ("unknown voice", SHORT, ["--voice", "robot"], "robot"),
    ("unknown quote voice", SHORT, ["--voice", "male", "--quote-voice", "robot"], "robot"),
    ("quote voice without its model", SHORT, ["--voice", "male", "--quote-voice", "my-coqui"],
     "no-such-model"),
    ("invalid utf-8", b"caf\xe9 au lait", [], "UTF-8"),
    ("unreadable file", None, [], "cannot read"),
    ("speed out of range", SHORT, ["--speed", "3"], "0.5 to 2"),
    ("missing coqui model", SHORT, ["--voice", "my-coqui"], "no-such-model"),
])
def test_mistakes_give_one_line_a_nonzero_exit_and_no_files(tmp_path, env, case, content, args,
                                                          message):
    source = tmp_path / "in.txt"
    if isinstance(content, bytes):
        source.write_bytes(content)
    elif content is not None:
        source.write_text(content)
    env = {**env, "NARRATOR_VOICES_FILE": missing_coqui_catalogue(tmp_path)}
    result = narrator("narrate", "in.txt", "-o", "out.mp3", *args, cwd=tmp_path, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("narrator: "), result.stderr
    assert message.lower() in lines[0].lower()
    assert not list(tmp_path.glob("out*"))
