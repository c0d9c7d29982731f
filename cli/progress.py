"""A terminal progress bar with chapter, sentences and ETA; silent when not on a terminal."""

from __future__ import annotations

import shutil

from tqdm import tqdm

from narration.pipeline import Progress


class ProgressBar:
    """Feeds narration `Progress` into tqdm; ETA follows characters spoken, not sentences."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar: tqdm | None = None

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, progress: Progress) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            # A terminal that reports no size (a bare pty) makes tqdm draw nothing; shutil falls
            # back to 80×24 there.
            size = shutil.get_terminal_size()
            self.bar = tqdm(total=progress.chars, unit="char", unit_scale=True, leave=True,
                            ncols=size.columns, nrows=size.lines,
                            bar_format="{desc} {bar} {percentage:3.0f}% "
                                       "[{elapsed}<{remaining}] {postfix}")
        self.bar.set_description_str(
            f"chapter {progress.chapter + 1}/{progress.chapters} {progress.chapter_title[:28]}")
        self.bar.set_postfix_str(
            f"sentences {progress.utterances_done}/{progress.utterances}", refresh=False)
        self.bar.update(progress.chars_done - self.bar.n)
