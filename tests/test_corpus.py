"""The review corpus: texts written in the layouts of real review sites, blogs and forums.

Each `tests/corpus/NAME.{txt,md,html}` has a sidecar `NAME.yaml` saying what a listener must get:
  title:        the narration's title (Metadata.title)
  metadata:     other Metadata fields that must have these values (author, published, rating, …)
  chapters:     the chapter titles of the script, in order (the opening is "Introduction" or the headline)
  spoken:       phrases that must be said (in the engine's wording, e.g. "three out of four stars")
  spoken_once:  phrases said exactly once (a rating, a repeated title)
  never_spoken: phrases that must never be said or shown (site furniture, raw rating lines, labels);
                matched with their case, so "WHAT I LIKED" is caught while "What I liked" may be said
The script is built the way the service and the CLI build it (narration.script.build_script).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from narration.reading import read_source
from narration.script import build_script

CORPUS = Path(__file__).parent / "corpus"
ROOT = Path(__file__).resolve().parents[1]
KINDS = {".txt": "text", ".md": "markdown", ".html": "html"}
MAX_CHARS = 400
CASES = sorted(path for path in CORPUS.iterdir() if path.suffix in KINDS)


def script_of(path: Path):
    """The document and script a corpus text reads into."""
    document = read_source(KINDS[path.suffix], path.read_bytes())
    return document, build_script(document, max_chars=MAX_CHARS)


def flat(text: str) -> str:
    """Case and spacing folded, so a phrase is found whatever the line breaks."""
    return re.sub(r"\s+", " ", text).casefold()


def test_the_corpus_has_at_least_thirty_texts_each_with_its_expectations():
    assert len(CASES) >= 30
    for path in CASES:
        assert path.with_suffix(".yaml").exists(), f"{path.name} has no sidecar"


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_corpus_text_reads_as_its_sidecar_says(path):
    expected = yaml.safe_load(path.with_suffix(".yaml").read_text(encoding="utf-8"))
    document, scripts = script_of(path)
    assert document.metadata.title == expected["title"]
    for field, value in (expected.get("metadata") or {}).items():
        assert getattr(document.metadata, field) == value, field
    assert [script.title for script in scripts] == expected["chapters"]
    spoken = flat(" ".join(u.spoken for script in scripts for u in script.utterances))
    for phrase in expected.get("spoken") or []:
        assert flat(phrase) in spoken, f"not said: {phrase!r}"
    for phrase in expected.get("spoken_once") or []:
        assert spoken.count(flat(phrase)) == 1, f"said {spoken.count(flat(phrase))} times: {phrase!r}"
    spoken_as_is = " ".join(" ".join(u.spoken.split()) for script in scripts for u in script.utterances)
    shown_as_is = " ".join(" ".join(u.text.split()) for script in scripts for u in script.utterances)
    for phrase in expected.get("never_spoken") or []:
        phrase = " ".join(str(phrase).split())
        assert phrase not in spoken_as_is and phrase not in shown_as_is, f"said: {phrase!r}"
    # Chapter titles are never a rating, a date or a label's colon.
    for script in scripts:
        assert not re.search(r"\d+\s*/\s*\d+|★|\*\*|:$", script.title), script.title


def test_narrator_narrate_reads_a_saved_html_page(tmp_path):
    """`narrator narrate page.html`: a real CLI process and the male voice; only the article is heard."""
    page = tmp_path / "salt-road.html"
    page.write_bytes((CORPUS / "html-personal-blog.html").read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "cli", "narrate", page.name, "--voice", "male", "-o", "salt-road.mp3"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NARRATOR_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    chapters = yaml.safe_load((tmp_path / "salt-road.chapters.json").read_text())["chapters"]
    assert [chapter["title"] for chapter in chapters] == ["Introduction", "What I liked", "What I didn't like"]
    transcript = (tmp_path / "salt-road.vtt").read_text()
    assert "Salt Road" in transcript and "I wanted one more scene." in transcript
    for furniture in ("Leave a Reply", "Recent Posts", "Share this", "Lovely review", "Skip to content"):
        assert furniture not in transcript
