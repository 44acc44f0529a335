"""Peak memory and time of one worker parsing each hostile dump shape with the default limits.

    .venv/bin/python -m benchmarks.bench_bombs [--pages 100]

Each shape (tests/builders.BOMB_SHAPES) is written to a temporary folder and parsed by
write_parsed_dump in a fresh process, which reports its own peak RSS. The test
tests/test_bounded_memory.py holds every shape under the worker ceiling.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from tests.builders import BOMB_SHAPES, parse_in_a_fresh_process, write_bomb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=100, help="pages per dump (default 100)")
    args = parser.parse_args()
    print(f"{'shape':20} {'on disk':>10} {'seconds':>8} {'peak RSS':>9}  rows by status")
    for shape in BOMB_SHAPES:
        with tempfile.TemporaryDirectory() as folder:
            path = write_bomb(Path(folder) / "dumps", shape, args.pages)
            measured = parse_in_a_fresh_process(path.parent, Path(folder) / "part.parquet")
            print(
                f"{shape:20} {os.path.getsize(path) / 1e6:>8.1f}MB {measured['seconds']:>8.1f}"
                f" {measured['peak_rss_mb']:>7.0f}MB  {measured['by_status']}"
            )


if __name__ == "__main__":
    main()
