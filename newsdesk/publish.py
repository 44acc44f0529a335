"""Publish partition files into the DuckLake warehouse: the one step that writes it.

Everything happens in one transaction: a user's query, or a run killed half-way, sees the
warehouse as it was before the publish or as it is after, never in between.

A publish costs what changed, not what the warehouse holds: it replaces the page and sighting
rows of the dumps whose partition file changed (or that left), and recomputes only the articles
and headlines those dumps show, from each dump's share of them kept in meta.dump_articles and
meta.dump_headlines. The result is the same as a rebuild from every partition file.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from newsdesk.annotate import link_duplicates, tag_headline_languages
from newsdesk.files import remove_orphaned_temporaries
from newsdesk.parsing import part_file_is_current
from newsdesk.removals import RemovalPolicy, check_removals, check_replacements, warehouse_origin
from newsdesk.sql import run_sql_file
from newsdesk.warehouse import CATALOG, create_tables, create_views

CONTRACT_TABLES = (
    "pages",
    "headline_sightings",
    "articles",
    "headlines",
    "headline_clusters",
    "headline_translations",
    "headline_stories",
)
# The layout of the meta tables of sql/publish/meta.sql; a warehouse with another is rebuilt.
PUBLISH_FORMAT = 3
_PER_DUMP_TABLES = (
    "meta.dump_articles",
    "meta.dump_headlines",
    "meta.changed_dumps",
    "meta.changed_articles",
    "meta.changed_headlines",
)


@dataclass
class PublishReport:
    loaded: list[str] = field(default_factory=list)  # dumps whose rows were (re)loaded
    removed: list[str] = field(default_factory=list)  # dumps whose rows were deleted
    unchanged: list[str] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict, repr=False)  # of the partition files
    rebuild: bool = False  # the warehouse had another layout: every table is rebuilt


def part_signature(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def publish(
    connection: duckdb.DuckDBPyConnection,
    part_files: dict[str, Path],
    dumps_folder: Path,
    removals: RemovalPolicy = RemovalPolicy(),
    audit: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
    log: Callable[[str], None] = lambda step: None,
) -> PublishReport:
    """Make the warehouse hold exactly the dumps in part_files ({dump_id: partition file}) of
    dumps_folder: reload those whose file changed since the last publish, delete those no
    longer listed (if `removals` allows it), and recompute the distinct articles and headlines
    they touch. All of it is one transaction, so one snapshot, which records what it changed;
    a publish that changes nothing commits none.

    `audit` sees the transaction's result before the commit: what it raises rolls it back
    (write-audit-publish), so no reader ever sees a warehouse that failed it. `log` hears each
    step as it starts."""
    folder = str(dumps_folder.expanduser().resolve())
    connection.execute("BEGIN TRANSACTION")
    try:
        create_tables(connection)
        built_from, loaded = warehouse_origin(connection)
        check_removals(built_from, dumps_folder, loaded, part_files, removals)
        report = plan_publish(connection, part_files)
        check_replacements(built_from, dumps_folder, set(report.loaded) & set(loaded), removals)
        if report.loaded or report.removed or built_from != folder:
            rows_before = table_rows(connection)
            connection.execute("DELETE FROM meta.dumps_folder")
            connection.execute("INSERT INTO meta.dumps_folder VALUES ($path)", {"path": folder})
            if report.loaded or report.removed or not _has_views(connection):
                create_views(connection)
            if report.loaded or report.removed:
                log(f"loading {len(report.loaded)} dumps, removing {len(report.removed)}")
                load_dumps(connection, report, part_files)
                log("distinct articles and headlines")
                refresh_distinct_tables(connection, part_files)
                log("languages and clusters")
                tag_headline_languages(connection)
                link_duplicates(connection)
            record_snapshot(connection, report, loaded, rows_before, table_rows(connection))
        if audit is not None:
            log("blocking checks, before the commit")
            audit(connection)
        log("commit")
        connection.execute("COMMIT")
    except BaseException:
        # A COMMIT that failed (a full disk) has ended the transaction already.
        with contextlib.suppress(duckdb.TransactionException):
            connection.execute("ROLLBACK")
        raise
    return report


def _has_views(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether the views exist: a first publish whose dumps all failed creates them too, so the
    report and users' queries of the views find them."""
    return connection.execute(
        "SELECT count(*) > 0 FROM information_schema.tables WHERE table_catalog = current_database() AND table_type = 'VIEW'"
    ).fetchone()[0]


def table_rows(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = " UNION ALL ".join(f"SELECT '{table}', count(*) FROM {table}" for table in CONTRACT_TABLES)
    return dict(connection.execute(counts).fetchall())


def record_snapshot(
    connection: duckdb.DuckDBPyConnection,
    report: PublishReport,
    previously_loaded: list[str],
    rows_before: dict[str, int],
    rows_after: dict[str, int],
) -> None:
    """Say in the snapshot this transaction commits what it changed: the dumps added, replaced
    and removed, and each table's rows before and after."""
    added = [dump_id for dump_id in report.loaded if dump_id not in previously_loaded]
    changes = {
        "added": added,
        "replaced": [dump_id for dump_id in report.loaded if dump_id in previously_loaded],
        "removed": report.removed,
        "rows": {table: [rows_before[table], rows_after[table]] for table in CONTRACT_TABLES},
    }
    summary = (
        f"{len(changes['added'])} dumps added, {len(changes['replaced'])} replaced, "
        f"{len(changes['removed'])} removed; pages {rows_before['pages']:,} -> {rows_after['pages']:,}"
    )
    connection.execute(
        f"CALL {CATALOG}.set_commit_message('newsdesk', $message, extra_info => $changes)",
        {"message": summary, "changes": json.dumps(changes)},
    )


def plan_publish(connection: duckdb.DuckDBPyConnection, part_files: dict[str, Path]) -> PublishReport:
    """Which dumps to load (new or changed partition file), remove and leave as they are."""
    signatures = {dump_id: part_signature(path) for dump_id, path in part_files.items()}
    loaded = dict(connection.execute("SELECT dump_id, part_signature FROM meta.loaded_dumps").fetchall())
    formats = [row[0] for row in connection.execute("SELECT version FROM meta.publish_format").fetchall()]
    rebuild = formats != [PUBLISH_FORMAT]
    if rebuild:
        loaded = {}  # nothing in the tables can be trusted to match this layout
    report = PublishReport(
        loaded=sorted(d for d, signature in signatures.items() if loaded.get(d) != signature),
        removed=sorted(d for d in loaded if d not in signatures),
        unchanged=sorted(d for d, signature in signatures.items() if loaded.get(d) == signature),
        signatures=signatures,
        rebuild=rebuild,
    )
    _check_part_files([part_files[dump_id] for dump_id in report.loaded])
    return report


def _check_part_files(paths) -> None:
    """Refuse partition files written by an older version, naming them: parse their dumps again."""
    old = [path.name for path in paths if not part_file_is_current(path)]
    if old:
        raise ValueError(
            f"partition files written by an older newsdesk, without every column of this version: "
            f"{', '.join(old[:5])}{' ...' if len(old) > 5 else ''}; materialize their dumps again (newsdesk run does)"
        )


def load_dumps(connection: duckdb.DuckDBPyConnection, report: PublishReport, part_files: dict[str, Path]) -> None:
    """Replace the pages and sightings of the changed dumps and their share of the distinct
    tables, and record what changed: the dumps loaded, the articles and headlines they touch
    (before and after)."""
    if report.rebuild:
        for table in (*CONTRACT_TABLES, *_PER_DUMP_TABLES, "meta.loaded_dumps", "meta.publish_format"):
            connection.execute(f"DELETE FROM {table}")
        connection.execute("INSERT INTO meta.publish_format VALUES ($version)", {"version": PUBLISH_FORMAT})
    changed = report.loaded + report.removed
    run_sql_file(connection, "publish/replace_dumps.sql", dump_ids=changed)
    if report.loaded:
        run_sql_file(connection, "publish/insert_parts.sql", part_files=[str(part_files[d]) for d in report.loaded])
        connection.execute("INSERT INTO meta.changed_dumps SELECT unnest($ids::VARCHAR[])", {"ids": report.loaded})
    connection.execute(
        "DELETE FROM meta.loaded_dumps WHERE dump_id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": changed}
    )
    if report.loaded:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        connection.executemany(
            "INSERT INTO meta.loaded_dumps VALUES (?, ?, ?)", [(d, report.signatures[d], now) for d in report.loaded]
        )


def refresh_distinct_tables(connection: duckdb.DuckDBPyConnection, part_files: dict[str, Path]) -> None:
    """Recompute the changed articles and headlines. An article's text is read from the
    partition file of the dump whose page wins, a dump at a time."""
    run_sql_file(connection, "publish/articles.sql")
    for (dump_id,) in connection.execute("SELECT DISTINCT dump_id FROM article_winners ORDER BY dump_id").fetchall():
        run_sql_file(connection, "publish/articles_text.sql", dump_id=dump_id, part_file=str(part_files[dump_id]))
    connection.execute("DROP TABLE article_winners")
    run_sql_file(connection, "publish/headlines.sql")


def remove_unused_part_files(parts_dir: Path, in_use: Iterable[Path]) -> int:
    """Delete the partition files of dumps that left the warehouse, and temporary files that
    killed writers left behind; returns how many partition files went. Call it after the
    publish committed: a crash before then leaves the rows and their files."""
    keep = set(in_use)
    removed = 0
    for path in parts_dir.glob("*.parquet"):
        if path not in keep:
            path.unlink(missing_ok=True)
            removed += 1
    remove_orphaned_temporaries(parts_dir)
    return removed
