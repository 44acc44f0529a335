"""A worker's memory is bounded by the read limits, not by its input: every shape of input that
once took gigabytes (many pages just under the page limit, in archives and Parquet files that
compress a thousandfold; compressed garbage) is parsed by a fresh process under the ceiling."""

import pytest

from tests.builders import BOMB_SHAPES, measure_in_a_fresh_process, parse_in_a_fresh_process, write_bomb

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
    if shape in ("zip", "jsonl.gz", "warc.wet.gz", "parquet", "parquet-dictionary", "parquet-repeated", "gzip-newlines", "gzip-garbage-lines"):
        assert measured["by_status"].get("too_large", 0) >= 1, measured


# The publish's process, with a DuckDB memory limit of 512 MB, publishing dumps of the bomb
# shape: DuckDB fills its buffers up to its limit, and the process adds its own few hundred MB.
PUBLISH_MEMORY_LIMIT = "512MB"
PUBLISH_CEILING_MB = 1200

_PUBLISH = """
import sys
from pathlib import Path
from newsdesk.publish import publish
from newsdesk.warehouse import Warehouse
parts = {path.stem: path for path in Path(sys.argv[1]).glob("*.parquet")}
with Warehouse(sys.argv[2], duckdb_memory_limit=sys.argv[4]).writer() as connection:
    publish(connection, parts, Path(sys.argv[3]))
measured = {}
"""


def test_publishing_dumps_of_pages_at_the_limit_stays_under_the_ceiling(tmp_path):
    """Four dumps of distinct pages just under the page limit (about 1.2 GB of article text):
    the publish reads the winning texts a dump at a time, within DuckDB's memory limit. (All at
    once, the publish ran out of that limit, and with 2 GB it took 2.6 GB.)"""
    from newsdesk.parsing import write_parsed_dump
    from newsdesk.readers import discover_dumps

    dumps, parts = tmp_path / "dumps", tmp_path / "parts"
    parts.mkdir()
    for index in range(4):
        bomb = write_bomb(tmp_path / f"bomb{index}", "zip", titles=f"Article du lot {index}")  # distinct articles
        bomb.rename(dumps.mkdir(exist_ok=True) or dumps / f"bomb{index}.zip")
    for dump in discover_dumps(dumps).dumps:
        write_parsed_dump(dump, parts / f"{dump.dump_id}.parquet")
    measured = measure_in_a_fresh_process(_PUBLISH, parts, tmp_path / "w.ducklake", dumps, PUBLISH_MEMORY_LIMIT)
    assert measured["peak_rss_mb"] < PUBLISH_CEILING_MB, measured
