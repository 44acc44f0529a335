"""The warehouse's snapshots: one per publish, each saying what it changed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from newsdesk.warehouse import CATALOG


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    time: datetime  # UTC
    summary: str  # what the publish changed, in words
    changes: dict  # added, replaced, removed dumps; rows [before, after] per table


def list_snapshots(connection: duckdb.DuckDBPyConnection) -> list[Snapshot]:
    """Every snapshot of the attached warehouse, oldest first."""
    rows = connection.execute(
        f"SELECT snapshot_id, snapshot_time, commit_message, commit_extra_info FROM {CATALOG}.snapshots() ORDER BY 1"
    ).fetchall()
    return [
        Snapshot(
            snapshot_id,
            time.astimezone(timezone.utc),
            message or ("warehouse created" if snapshot_id == 0 else "changed outside newsdesk"),
            json.loads(extra) if extra else {},
        )
        for snapshot_id, time, message, extra in rows
    ]


def current_snapshot(connection: duckdb.DuckDBPyConnection) -> int:
    """The snapshot the connection reads (the newest, unless it attached an older one)."""
    return connection.execute(f"SELECT id FROM {CATALOG}.current_snapshot()").fetchone()[0]
