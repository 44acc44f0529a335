"""Work repeated on a timer beside a block of code, from a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def repeated(seconds: float, action: Callable[[], None], name: str) -> Iterator[None]:
    """Call `action` every `seconds` while the block runs, from a thread named `name`; none after
    it (the block's end waits for a call under way). An error of `action` ends the repeats and is
    raised when the block ends, unless the block raised one of its own."""
    done = threading.Event()
    failed: list[Exception] = []

    def repeat() -> None:
        while not done.wait(seconds):
            try:
                action()
            except Exception as error:
                failed.append(error)
                return

    thread = threading.Thread(target=repeat, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
    if failed:
        raise failed[0]
