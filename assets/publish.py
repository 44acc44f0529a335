"""Publish partition files into the DuckDB warehouse: the one step that writes it.

Everything happens in one transaction: a user's query, or a run killed half-way, sees the
warehouse as it was before the publish or as it is after, never in between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from assets.annotate import link_duplicates, tag_languages
from assets.project import read_sql

CONTRACT_TABLES = (
    "pages",
    "headline_sightings",
    "articles",
    "headlines",
    "headline_clusters",
    "headline_translations",
    "headline_stories",
)


@dataclass
class PublishReport:
    loaded: list[str] = field(default_factory=list)  # dumps whose rows were (re)loaded
    removed: list[str] = field(default_factory=list)  # dumps whose rows were deleted
    unchanged: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)


def run_sql_file(connection: duckdb.DuckDBPyConnection, name: str, **parameters) -> None:
    """Run each statement of sql/<name>, passing it the $parameters it names."""
    for statement in _statements(read_sql(name)):
        named = {key: value for key, value in parameters.items() if re.search(rf"\${key}\b", statement)}
        connection.execute(statement, named or None)


def _statements(script: str) -> list[str]:
    without_comments = re.sub(r"--[^\n]*", "", script)
    return [statement.strip() for statement in without_comments.split(";") if statement.strip()]


def part_signature(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def publish(connection: duckdb.DuckDBPyConnection, part_files: dict[str, Path]) -> PublishReport:
    """Make the warehouse hold exactly the dumps in part_files ({dump_id: partition file}):
    reload those whose file changed since the last publish, delete those no longer listed,
    and rebuild the tables of distinct articles and headlines."""
    signatures = {dump_id: part_signature(path) for dump_id, path in part_files.items()}
    loaded = dict(connection.execute("SELECT dump_id, part_signature FROM meta.loaded_dumps").fetchall())
    report = PublishReport(
        loaded=sorted(d for d, signature in signatures.items() if loaded.get(d) != signature),
        removed=sorted(d for d in loaded if d not in signatures),
        unchanged=sorted(d for d, signature in signatures.items() if loaded.get(d) == signature),
    )
    connection.execute("BEGIN TRANSACTION")
    try:
        if report.loaded or report.removed:
            _replace_dumps(connection, report, part_files, signatures)
            _rebuild_distinct_tables(connection, [str(path) for path in part_files.values()])
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    report.row_counts = {
        table: connection.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] for table in CONTRACT_TABLES
    }
    return report


def _replace_dumps(connection, report: PublishReport, part_files: dict[str, Path], signatures: dict[str, str]) -> None:
    changed = report.loaded + report.removed
    run_sql_file(connection, "publish/replace_dumps.sql", dump_ids=changed)
    if report.loaded:
        run_sql_file(connection, "publish/insert_parts.sql", part_files=[str(part_files[d]) for d in report.loaded])
    connection.execute("DELETE FROM meta.loaded_dumps WHERE dump_id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": changed})
    if report.loaded:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        connection.executemany(
            "INSERT INTO meta.loaded_dumps VALUES (?, ?, ?)", [(d, signatures[d], now) for d in report.loaded]
        )


def _rebuild_distinct_tables(connection, all_part_files: list[str]) -> None:
    if not all_part_files:
        for table in CONTRACT_TABLES:
            connection.execute(f"DELETE FROM {table}")
        return
    run_sql_file(connection, "publish/articles.sql", all_part_files=all_part_files)
    run_sql_file(connection, "publish/headlines.sql", all_part_files=all_part_files)
    tag_languages(connection)
    link_duplicates(connection)
