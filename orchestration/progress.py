"""The progress of `newsdesk run`, on its standard error.

On a terminal, rich draws one live line: the phase, the dumps being parsed or the publish's
step, the pages parsed against the pages expected, their rate, and the time left, which rich
estimates from the pages. Elsewhere (cron, CI, a log file) plain timestamped lines: at each
change of phase or step, and at most every few seconds in between.

Nothing here imports Dagster, so the first line shows while the command still loads it.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Protocol, TextIO

PLAIN_PROGRESS_SECONDS = 5.0  # at most one progress line this often when stderr is a log, not a terminal


class RunProgress(Protocol):
    """What the runner reports (orchestration.runner.Progress)."""

    phase: str
    step: str
    pages: int
    expected_pages: int | None
    dumps_done: int
    dumps: int


class ProgressDisplay:
    """A context manager; call show() with each progress report, or starting() before any."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.started = time.monotonic()
        self.parse_started: float | None = None
        self.printed: tuple[float, tuple[str, str]] = (float("-inf"), ("", ""))  # when, and of which step
        self.bar = None

    def __enter__(self) -> ProgressDisplay:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[pages]}"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,  # the summary replaces it
            )
            self.bar.start()
            self.task = self.bar.add_task("starting", total=None, pages="")
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def starting(self, what: str) -> None:
        self._show("starting", what, None, None, "")

    def show(self, progress: RunProgress) -> None:
        if progress.phase == "parsing":
            self.parse_started = self.parse_started or time.monotonic()
            pages = f"{progress.pages:,} of {'~' + format(progress.expected_pages, ',') if progress.expected_pages else '?'} pages"
            step = f"[{progress.dumps_done}/{progress.dumps} dumps] {progress.step}".rstrip()
            self._show(progress.phase, step, progress.pages, progress.expected_pages, pages)
        else:
            self._show(progress.phase, progress.step, None, None, "")

    def _show(self, phase: str, step: str, done: int | None, total: int | None, pages: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=f"{phase}: {step}", completed=done or 0, total=total, pages=pages)
            self.bar.refresh()
            return
        # A line at each new phase and each publish step; while parsing, every few seconds.
        now, where = time.monotonic(), (phase, "" if phase == "parsing" else step)
        if where != self.printed[1] or now - self.printed[0] >= PLAIN_PROGRESS_SECONDS:
            line = f"{phase}: {step}" + (f" ({pages}{self._time_left(done, total)})" if pages else "")
            print(f"{time.strftime('%H:%M:%S')} {line}", file=self.stream, flush=True)
            self.printed = (now, where)

    def _time_left(self, done: int | None, total: int | None) -> str:
        """From the pages parsed since parsing began: rate and pages left."""
        if not done or not total or self.parse_started is None:
            return ""
        rate = done / max(time.monotonic() - self.parse_started, 1e-9)
        return f", {rate:,.0f} pages/s, about {max(total - done, 0) / rate:,.0f} s left"
