"""Warehouse maintenance: what keeps a DuckLake small after many publishes.

Each publish is a snapshot, and DuckLake keeps every file an unexpired snapshot reads, so the
data folder grows with every replaced or removed dump. Maintenance, run by the writer:
1. expires the snapshots older than `expire_older_than`, but never the newest `keep_latest`
   (the research a snapshot id pins stays reproducible for that long);
2. merges the small data files that publishes leave behind into larger ones;
3. deletes the files no snapshot uses any more once they have been unused for
   `delete_after`, so a reader still on an expired snapshot finishes its query first, and
   the files a killed writer left behind (orphans) after the same delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import duckdb

from newsdesk.warehouse import CATALOG

DEFAULT_EXPIRE_OLDER_THAN = timedelta(days=30)
DEFAULT_KEEP_LATEST = 10
DEFAULT_DELETE_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class MaintenancePolicy:
    expire_older_than: timedelta = DEFAULT_EXPIRE_OLDER_THAN
    keep_latest: int = DEFAULT_KEEP_LATEST
    delete_after: timedelta = DEFAULT_DELETE_AFTER

    def __post_init__(self) -> None:
        if self.keep_latest < 1:
            raise ValueError("maintenance keeps at least the newest snapshot (keep_latest >= 1)")
        if self.expire_older_than < timedelta(0) or self.delete_after < timedelta(0):
            raise ValueError("maintenance ages cannot be negative")


@dataclass(frozen=True)
class MaintenanceReport:
    expired_snapshots: list[int]
    files_merged: int  # small data files merged ...
    files_written: int  # ... into these
    files_deleted: int  # no longer used by any snapshot
    orphans_deleted: int  # left by a writer that did not commit
    bytes_before: int
    bytes_after: int

    def summary(self) -> str:
        return (
            f"{len(self.expired_snapshots)} snapshots expired, {self.files_merged} files merged into "
            f"{self.files_written}, {self.files_deleted + self.orphans_deleted} files deleted; data "
            f"{self.bytes_before / 1e6:,.1f} MB -> {self.bytes_after / 1e6:,.1f} MB"
        )


def maintain(connection: duckdb.DuckDBPyConnection, policy: MaintenancePolicy = MaintenancePolicy()) -> MaintenanceReport:
    """Run the three steps on the warehouse attached to this writing connection. The merge is
    a snapshot of its own, named in the snapshot list; expiring and deleting change no table."""
    bytes_before = _data_bytes(connection)
    expired = [
        row[0]
        for row in connection.execute(
            f"""
            SELECT snapshot_id FROM {CATALOG}.snapshots()
            WHERE snapshot_time < now() - $age
            QUALIFY row_number() OVER (ORDER BY snapshot_id DESC) > $keep
            ORDER BY snapshot_id
            """,
            {"age": policy.expire_older_than, "keep": policy.keep_latest},
        ).fetchall()
    ]
    if expired:
        connection.execute(f"CALL ducklake_expire_snapshots('{CATALOG}', versions => $versions)", {"versions": expired})
    connection.execute("BEGIN TRANSACTION")
    try:
        merged, written = connection.execute(
            f"SELECT coalesce(sum(files_processed), 0), coalesce(sum(files_created), 0) "
            f"FROM ducklake_merge_adjacent_files('{CATALOG}')"
        ).fetchone()
        connection.execute(
            f"CALL {CATALOG}.set_commit_message('newsdesk', $message)",
            {"message": f"maintenance: {merged} small files merged into {written}"},
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    deleted, orphans = (
        len(connection.execute(f"CALL {function}('{CATALOG}', older_than => now() - $delay)", {"delay": policy.delete_after}).fetchall())
        for function in ("ducklake_cleanup_old_files", "ducklake_delete_orphaned_files")
    )
    return MaintenanceReport(expired, merged, written, deleted, orphans, bytes_before, _data_bytes(connection))


def _data_bytes(connection: duckdb.DuckDBPyConnection) -> int:
    """Bytes of the data files the catalog knows, in use or waiting for deletion."""
    metadata = f"__ducklake_metadata_{CATALOG}"
    return connection.execute(
        f"""
        SELECT coalesce(sum(file_size_bytes), 0) FROM (
            SELECT file_size_bytes FROM {metadata}.ducklake_data_file
            UNION ALL SELECT file_size_bytes FROM {metadata}.ducklake_delete_file
        )
        """
    ).fetchone()[0]
