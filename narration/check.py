"""The recognition check: hear each chapter with a speech recognizer, retake the sentences it
cannot hear right, and report what stays wrong.

Both sides are compared after the same normalization (narration.normalize, then lowercase words
without punctuation), so "2013" heard and "twenty thirteen" written agree. The reference is the
original wording: a lexicon that respells a name is judged by whether the name is heard.

A sentence is a bad take when the recognizer heard nothing, or words went missing or were
repeated (deletions + insertions ≥ max(2, 40 % of its words)), or most of it came out as other
words (substitutions ≥ 60 % of four or more words). Misheard names alone do not make a bad take
(a retake says a name the same way); they are reported as names not recognized. A bad take is
synthesized again up to `max_retries` times (each retake a little slower, so even a
deterministic engine says it differently); the best take is kept, and what stays bad is reported.

Which sentence a heard word belongs to comes from aligning the chapter's heard words with its
written words (not from word timestamps, which cost a quarter more recognition time).
The recognizer is anything with `transcribe(Audio) -> str` (voices.recognizer has the real one),
so this module imports no model.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence


from narration.audio import Audio
from narration.normalize import normalize
from narration.render import Pauses, render_chapter
from narration.script import ChapterScript, Utterance
from narration.segment import Segment
from narration.timeline import RenderedChapter

log = logging.getLogger(__name__)

MAX_RETRIES = 2
RETAKE_SPEEDS = (0.94, 0.88)
"""Speed factors of the first and second retake: a different pace is a different take."""


class Recognizer(Protocol):
    def transcribe(self, audio: Audio) -> str: ...


def comparable(text: str) -> list[str]:
    """Words as compared: normalized as for speech, lowercase, without punctuation."""
    text = normalize(text).replace("’", "'").lower()
    text = re.sub(r"[-–—/]", " ", text)
    return [w.strip("'") for w in re.findall(r"[\w']+", text) if w.strip("'")]


@dataclass
class Score:
    """How one take was heard: the words and the edit operations against the reference."""

    heard: str
    words: int
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def problem(self) -> str | None:
        """Why the take is bad ("silence", "skipped", "repeated", "garbled"), or None."""
        if self.words == 0:
            return None
        if not self.heard.strip():
            return "silence"
        if self.deletions + self.insertions >= max(2, 0.4 * self.words):
            return "skipped" if self.deletions >= self.insertions else "repeated"
        if self.words >= 4 and self.substitutions >= 0.6 * self.words:
            return "garbled"
        return None


def score(reference: str, heard: str) -> Score:
    """Word-level alignment of what was heard against what was meant (jiwer)."""
    import jiwer

    ref, hyp = comparable(reference), comparable(heard)
    result = Score(heard.strip(), len(ref))
    if not ref:
        result.insertions = len(hyp)
        return result
    if not hyp:
        result.deletions = len(ref)
        return result
    output = jiwer.process_words(" ".join(ref), " ".join(hyp))
    result.substitutions, result.deletions, result.insertions = (
        output.substitutions, output.deletions, output.insertions)
    return result


@dataclass
class SentenceCheck:
    index: int
    text: str
    heard: str
    start: float
    end: float
    """Seconds from the start of the chapter (the episode report adds the chapter's offset)."""
    retries: int
    problem: str | None

    def to_dict(self) -> dict:
        return {"index": self.index, "text": self.text, "heard": self.heard,
                "start": round(self.start, 3), "end": round(self.end, 3),
                "retries": self.retries, "problem": self.problem}


@dataclass
class ChapterCheck:
    title: str
    words: int = 0
    errors: int = 0
    sentences: list[SentenceCheck] = field(default_factory=list)
    names_not_recognized: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0

    @property
    def retried(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if s.retries]

    @property
    def suspect(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if s.problem]

    def to_dict(self) -> dict:
        """JSON-ready, times in chapter time (episode_report shifts them)."""
        return {"title": self.title, "words": self.words, "errors": self.errors,
                "wer": round(self.wer, 4), "sentences": len(self.sentences),
                "retried": [s.to_dict() for s in self.retried],
                "suspect": [s.to_dict() for s in self.suspect],
                "names_not_recognized": self.names_not_recognized,
                "seconds": round(self.seconds, 2)}


Retake = Callable[[Utterance, int], Audio]
"""(utterance, attempt from 0) → a new take of it."""


def check_chapter(script: ChapterScript, chapter: RenderedChapter, recognizer: Recognizer,
                  retake: Retake | None = None, *, names: Sequence[str] = (),
                  max_retries: int = MAX_RETRIES, pauses: Pauses = Pauses()
                  ) -> tuple[RenderedChapter, ChapterCheck]:
    """Hear a rendered chapter, retake bad sentences, and return the (re-rendered) chapter with
    its check. `names` are the words of the names check, to report the ones not heard."""
    started = time.perf_counter()
    heard = _assign(recognizer.transcribe(chapter.audio), script.utterances)
    clips = _clips(chapter)
    report = ChapterCheck(script.title)
    replaced = False
    scores = [score(u.text, h) for u, h in zip(script.utterances, heard)]
    retries = [0] * len(scores)
    for index, utterance in enumerate(script.utterances):
        if not scores[index].problem or retake is None:
            continue
        for attempt in range(max_retries):
            take = retake(utterance, attempt)
            retries[index] += 1
            take_score = score(utterance.text, recognizer.transcribe(take))
            if take_score.problem is None or take_score.errors < scores[index].errors:
                clips[index], scores[index], replaced = take, take_score, True
            if scores[index].problem is None:
                break
        log.info("sentence %d of %r: %d retakes, %s", index, script.title, retries[index],
                 scores[index].problem or "now heard right")
    if replaced:
        takes = iter(clips)
        chapter = render_chapter(script, lambda _utterance: next(takes), pauses=pauses,
                                 rate=chapter.audio.rate,
                                 two_voices=any(cue.voice for cue in chapter.cues))
    for index, (utterance, cue, result) in enumerate(zip(script.utterances, chapter.cues, scores)):
        report.words += result.words
        report.errors += result.errors
        report.sentences.append(SentenceCheck(index, utterance.text, result.heard, cue.start,
                                              cue.end, retries[index], result.problem))
        spoken = set(comparable(result.heard))
        for name in names:
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", utterance.text) and not (
                    set(comparable(name)) <= spoken):
                report.names_not_recognized.append(
                    {"name": name, "sentence": index, "heard": result.heard})
    report.seconds = time.perf_counter() - started
    return chapter, report


def _assign(heard: str, utterances: Sequence[Utterance]) -> list[str]:
    """The heard words of each utterance, by aligning all heard words with all written ones.

    A heard word aligned with (or substituted for) a written word belongs to that word's
    utterance; an inserted word belongs to the utterance of the written word before it (so a
    repeated phrase counts against the sentence that repeated it).
    """
    import jiwer

    owners = [index for index, u in enumerate(utterances) for _word in comparable(u.text)]
    hyp = comparable(heard)
    parts: list[list[str]] = [[] for _ in utterances]
    if not owners or not hyp:
        return ["" for _ in utterances]
    ref = [word for u in utterances for word in comparable(u.text)]
    for chunk in jiwer.process_words(" ".join(ref), " ".join(hyp)).alignments[0]:
        for offset, position in enumerate(range(chunk.hyp_start_idx, chunk.hyp_end_idx)):
            if chunk.type in ("equal", "substitute"):
                owner = owners[chunk.ref_start_idx + offset]
            else:  # an insertion: the utterance of the written word before it
                owner = owners[max(chunk.ref_start_idx - 1, 0)]
            parts[owner].append(hyp[position])
    return [" ".join(words) for words in parts]


def _clips(chapter: RenderedChapter) -> list[Audio]:
    """The chapter's utterances cut out again at their exact cue samples."""
    rate = chapter.audio.rate
    return [Audio(chapter.audio.samples[round(cue.start * rate):round(cue.end * rate)], rate)
            for cue in chapter.cues]


def episode_report(chapters: Sequence[dict], chapter_seconds: Sequence[float], *,
                   pauses: Pauses = Pauses(), names: dict | None = None,
                   model: str = "") -> dict:
    """The check of a whole episode from its chapters' checks (`ChapterCheck.to_dict()`, times
    in chapter time, as a chapter task can store them): WER, sentences retried and still
    suspect in episode time, names not recognized, per chapter and in total.

    Episode times add each chapter's start, laid out as narration.assemble lays it out (a lead-in,
    then chapters separated by the chapter pause); `chapter_seconds` are the rendered lengths.
    """
    offsets, position = [], pauses.lead_in
    for seconds in chapter_seconds:
        offsets.append(position)
        position += seconds + pauses.chapter

    def shifted(sentence: dict, offset: float, chapter: int) -> dict:
        return dict(sentence, start=round(sentence["start"] + offset, 3),
                    end=round(sentence["end"] + offset, 3), chapter=chapter)

    chapters = [dict(c, retried=[shifted(s, offset, i) for s in c["retried"]],
                     suspect=[shifted(s, offset, i) for s in c["suspect"]])
                for i, (c, offset) in enumerate(zip(chapters, offsets))]
    words = sum(c["words"] for c in chapters)
    errors = sum(c["errors"] for c in chapters)
    return {
        "wer": round(errors / words, 4) if words else 0.0, "words": words, "errors": errors,
        "retried": sum(len(c["retried"]) for c in chapters),
        "suspect": [s for c in chapters for s in c["suspect"]],
        "names_not_recognized": [dict(n, chapter=i) for i, c in enumerate(chapters)
                                 for n in c["names_not_recognized"]],
        "seconds": round(sum(c["seconds"] for c in chapters), 2),
        "recognizer": model,
        "names": names,
        "chapters": chapters,
    }


def make_retake(engine, speed: float) -> Retake:
    """Retakes through the engine (bypassing the sentence cache, which holds the bad take)."""
    from narration.engine import MIN_SPEED, synthesize_utterance

    def retake(utterance: Utterance, attempt: int) -> Audio:
        factor = RETAKE_SPEEDS[min(attempt, len(RETAKE_SPEEDS) - 1)]
        return synthesize_utterance(engine, utterance, max(MIN_SPEED, speed * factor))

    return retake


class EpisodeCheck:
    """Checks chapters as they are rendered (narration.pipeline.narrate's `after_part`), then
    gives the episode report. Workers can call `check_chapter` per chapter task instead."""

    def __init__(self, recognizer: Recognizer, retake: Retake | None, *,
                 names: Sequence[str] = (), pauses: Pauses = Pauses()):
        self.recognizer, self.retake, self.names, self.pauses = recognizer, retake, names, pauses
        self.chapters: list[ChapterCheck] = []
        self.chapter_seconds: list[float] = []

    def __call__(self, script: ChapterScript, chapter: RenderedChapter) -> RenderedChapter:
        chapter, report = check_chapter(script, chapter, self.recognizer, self.retake,
                                        names=self.names, pauses=self.pauses)
        self.chapters.append(report)
        self.chapter_seconds.append(chapter.audio.seconds)
        return chapter

    def report(self, *, names: dict | None = None, model: str = "", cues=()) -> dict:
        """The episode's check. With the episode's `cues` (EpisodeFiles.cues), sentences are
        placed where the joined episode plays them, which the parts' lengths alone cannot say
        (each join adds the encoder's delay and padding)."""
        report = episode_report([c.to_dict() for c in self.chapters], self.chapter_seconds,
                                pauses=self.pauses, names=names, model=model)
        if cues:
            place_sentences(report, cues)
        return report


def place_sentences(report: dict, cues) -> None:
    """Give each retried or suspect sentence the times of its cue: the next cue with its text,
    in order, so a sentence said twice in the episode finds its own occurrence."""
    for key in ("retried", "suspect"):
        sentences = [s for chapter in report["chapters"] for s in chapter[key]]
        position = 0
        for sentence in sentences:
            for index in range(position, len(cues)):
                if cues[index].text == sentence.get("text"):
                    sentence["start"], sentence["end"] = (round(cues[index].start, 3),
                                                          round(cues[index].end, 3))
                    position = index + 1
                    break
    report["suspect"] = [s for chapter in report["chapters"] for s in chapter["suspect"]]


def parts_report(parts: Sequence[tuple[Segment, dict]], *, cues=(), pauses: Pauses = Pauses(),
                 names: dict | None = None, model: str = "") -> dict:
    """The episode's check from its parts' checks, as the service's part tasks store them: each
    (segment, `ChapterCheck.to_dict()` of the part), in order. The parts of a chapter become one
    chapter (sentence indexes and times counted from the chapter's start); with the joined
    episode's `cues`, sentences are placed where the episode plays them."""
    chapters: dict[int, dict] = {}
    seconds: dict[int, float] = {}
    for segment, check in parts:
        lead = segment.lead / segment.rate
        chapter = chapters.get(segment.chapter)
        if chapter is None:  # a chapter's first part: its times start after its lead
            chapters[segment.chapter] = dict(check, retried=list(check["retried"]),
                                             suspect=list(check["suspect"]),
                                             names_not_recognized=list(check["names_not_recognized"]))
            seconds[segment.chapter] = segment.seconds - lead
            continue
        offset, first = seconds[segment.chapter] + lead, chapter["sentences"]
        for key in ("retried", "suspect"):
            chapter[key] += [dict(s, index=s["index"] + first, start=round(s["start"] + offset, 3),
                                  end=round(s["end"] + offset, 3)) for s in check[key]]
        chapter["names_not_recognized"] += [dict(n, sentence=n["sentence"] + first)
                                            for n in check["names_not_recognized"]]
        for key in ("words", "errors", "sentences", "seconds"):
            chapter[key] += check[key]
        chapter["wer"] = round(chapter["errors"] / chapter["words"], 4) if chapter["words"] else 0.0
        seconds[segment.chapter] += segment.seconds
    order = sorted(chapters)
    report = episode_report([chapters[c] for c in order], [seconds[c] for c in order],
                            pauses=pauses, names=names, model=model)
    if cues:
        place_sentences(report, cues)
    return report


def status_summary(report: dict) -> dict:
    """What a job's status shows of its check (check.json has the rest): the episode's word error
    rate, words compared, sentences retried, the sentences still suspect with their times, and
    the names not recognized."""
    return {"wer": report["wer"], "words": report["words"], "errors": report["errors"],
            "retried": report["retried"],
            "suspect": [{key: s[key] for key in ("text", "heard", "start", "end", "problem",
                                                  "chapter")} for s in report["suspect"]],
            "names_not_recognized": [{key: n[key] for key in ("name", "heard", "chapter")}
                                     for n in report["names_not_recognized"]],
            "seconds": report["seconds"]}


def summary(report: dict) -> str:
    """One line for the CLI: the episode's WER, retakes, suspects and names not heard."""
    return (f"check: word error rate {report['wer'] * 100:.1f} % over {report['words']} words; "
            f"{report['retried']} sentence(s) retaken, {len(report['suspect'])} still suspect; "
            f"{len(report['names_not_recognized'])} name(s) not recognized")
