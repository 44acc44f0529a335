"""The per-dump asset: read one dump, parse every page, write one partition file atomically."""


import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl

from assets.dump_readers import DEFAULT_MAX_PAGE_BYTES, Dump, read_dump
from assets.metadata import markdown_table, table_schema
from assets.transforms.editions import load_editions
from assets.transforms.parse import PARSED_SCHEMA, parse_pages
from orchestration.automation import retry_missing_dumps_daily
from orchestration.partitions import dumps_partitions
from orchestration.resources import DumpsFolder, Warehouse

PART_SCHEMA = {"dump_id": pl.String, **PARSED_SCHEMA}


@dataclass
class ParseReport:
    pages: int = 0
    bytes: int = 0
    headline_sightings: int = 0
    by_status: Counter = field(default_factory=Counter)
    preview: pl.DataFrame | None = None


def write_parsed_dump(
    dump: Dump, target: Path, batch_size: int = 5000, max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES, log=None
) -> ParseReport:
    """Parse every page of a dump into one Parquet file at target, replacing it atomically:
    readers see the old file or the new one, never a half-written one."""
    import pyarrow.parquet as pq

    editions = load_editions()
    report = ParseReport()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    started = time.monotonic()
    schema = pl.DataFrame(schema=PART_SCHEMA).to_arrow().schema
    try:
        with pq.ParquetWriter(temporary, schema, compression="zstd") as writer:
            for records in read_dump(dump, editions, batch_size=batch_size, max_page_bytes=max_page_bytes):
                parsed = parse_pages(records, editions).select(pl.lit(dump.dump_id).alias("dump_id"), pl.all())
                writer.write_table(parsed.to_arrow().cast(schema))
                report.pages += parsed.height
                report.bytes += int(parsed["size_bytes"].sum() or 0)
                report.headline_sightings += int(parsed["ticker"].list.len().sum() or 0)
                report.by_status.update(dict(parsed["status"].value_counts().iter_rows()))
                if report.preview is None:
                    report.preview = parsed.filter(pl.col("status") == "ok").head(5)
                if log is not None:
                    elapsed = max(time.monotonic() - started, 1e-9)
                    log(f"{dump.dump_id}: {report.pages} pages read, {report.pages / elapsed:,.0f} pages/s")
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return report


@dg.asset(
    partitions_def=dumps_partitions,
    group_name="ingest",
    kinds={"polars", "parquet"},
    automation_condition=retry_missing_dumps_daily,
    description=(
        "One dump, parsed: one row per input page (kept or rejected, with its reason), the "
        "article fields of kept pages and every page's ticker headlines, written atomically to "
        "one Parquet partition file next to the warehouse."
    ),
)
def parsed_dump(context: dg.AssetExecutionContext, dumps: DumpsFolder, warehouse: Warehouse) -> dg.MaterializeResult:
    dump = dumps.dump(context.partition_key)
    signature = dump.signature  # before reading: a change during the read shows up next time
    target = warehouse.part_path(dump.dump_id)
    report = write_parsed_dump(dump, target, max_page_bytes=dumps.max_page_bytes, log=context.log.info)
    rejected = {status: count for status, count in report.by_status.items() if status != "ok"}
    context.log.info(f"{dump.dump_id}: {report.by_status.get('ok', 0)} pages kept, rejected {rejected or 'none'}")
    preview = report.preview if report.preview is not None else pl.DataFrame()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": report.pages,
            "dagster/column_schema": table_schema(PART_SCHEMA),
            "pages_kept": report.by_status.get("ok", 0),
            "pages_rejected": sum(rejected.values()),
            "rejected_by_reason": rejected,
            "headline_sightings": report.headline_sightings,
            "bytes_read": report.bytes,
            "dump_signature": signature,
            "partition_file": dg.MetadataValue.path(str(target)),
            "preview": dg.MetadataValue.md(
                markdown_table(preview.select("page_id", "edition", "source", "title", "published_date"))
                if preview.height
                else "_no kept pages_"
            ),
        }
    )
