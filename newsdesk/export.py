"""A query result written out in full, as CSV, JSON lines or Parquet, in bounded memory.

The rows stream from DuckDB in Arrow record batches to the writers, so an export of a whole
table never holds it in memory. CSV, which has no nested values, gets lists, structs and maps
as JSON text; a HUGEINT (what DuckDB's sum of integers gives) becomes BIGINT, which Parquet,
pandas and spreadsheets read as an integer, not as a double.
"""

from __future__ import annotations

from typing import BinaryIO

import duckdb
import polars as pl

FORMATS = ("csv", "json", "parquet")
_BATCH_ROWS = 65_536
_NESTED_TYPES = ("list", "array", "struct", "map", "union")
_WIDE_INTEGERS = ("hugeint", "uhugeint")


def portable(relation: duckdb.DuckDBPyRelation, nested_as_json: bool) -> duckdb.DuckDBPyRelation:
    """The relation with HUGEINT columns as BIGINT and, if asked, nested columns as JSON text."""
    columns = []
    for name, kind in zip(relation.columns, relation.types):
        quoted = '"' + name.replace('"', '""') + '"'
        if kind.id in _WIDE_INTEGERS:
            columns.append(f"CAST({quoted} AS BIGINT) AS {quoted}")
        elif nested_as_json and kind.id in _NESTED_TYPES:
            columns.append(f"CAST(to_json({quoted}) AS VARCHAR) AS {quoted}")
        else:
            columns.append(quoted)
    return relation.project(", ".join(columns))


def write_result(relation: duckdb.DuckDBPyRelation, file_format: str, out: BinaryIO, max_rows: int | None = None) -> int:
    """Write every row of the relation (or the first max_rows) to `out` in the format; returns
    the number of rows written."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}: one of {', '.join(FORMATS)}")
    relation = portable(relation, nested_as_json=file_format == "csv")
    if max_rows is not None:
        relation = relation.limit(max_rows)
    reader = relation.fetch_arrow_reader(_BATCH_ROWS)
    rows = 0
    if file_format == "parquet":
        import pyarrow.parquet

        with pyarrow.parquet.ParquetWriter(out, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        return rows
    header = file_format == "csv"
    for batch in reader:
        frame = pl.from_arrow(batch)
        if file_format == "csv":
            frame.write_csv(out, include_header=header)
            header = False
        else:
            frame.write_ndjson(out)
        rows += batch.num_rows
    if header:  # no batch at all: the header alone
        pl.from_arrow(reader.schema.empty_table()).write_csv(out)
    return rows
