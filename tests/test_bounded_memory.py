"""A worker's memory is bounded by the read limits, not by its input: every shape of input that
once took gigabytes (many pages just under the page limit, in archives and Parquet files that
compress a thousandfold; compressed garbage) is parsed by a fresh process under the ceiling."""

import pytest

from tests.builders import BOMB_SHAPES, parse_in_a_fresh_process, write_bomb

# What docs/reliability.md promises for one run worker parsing one dump with the default limits.
WORKER_CEILING_MB = 1024

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("shape", BOMB_SHAPES)
def test_every_bomb_shape_stays_under_the_worker_ceiling(tmp_path, shape):
    write_bomb(tmp_path / "dumps", shape)
    measured = parse_in_a_fresh_process(tmp_path / "dumps", tmp_path / "part.parquet")
    assert measured["peak_rss_mb"] < WORKER_CEILING_MB, measured
    # The dump is data, not a crash: each row has a status, and a dump that was stopped says so.
    assert sum(measured["by_status"].values()) > 0
    if shape in ("zip", "jsonl.gz", "parquet", "parquet-dictionary", "gzip-newlines", "gzip-garbage-lines"):
        assert measured["by_status"].get("too_large", 0) >= 1, measured
