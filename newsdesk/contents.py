"""What a warehouse holds, in numbers: what a run reports and the UI's metadata shows."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from newsdesk.publish import CONTRACT_TABLES


@dataclass(frozen=True)
class WarehouseContents:
    row_counts: dict[str, int]  # contract table -> rows
    pages_by_dump: list[tuple[str, str, int]]  # (dump_id, status, pages), sorted
    clusters: int  # distinct near-duplicate clusters


def warehouse_contents(connection: duckdb.DuckDBPyConnection) -> WarehouseContents:
    return WarehouseContents(
        row_counts={
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in CONTRACT_TABLES
        },
        pages_by_dump=[
            tuple(row)
            for row in connection.execute("SELECT dump_id, status, count(*) FROM pages GROUP BY ALL ORDER BY ALL").fetchall()
        ],
        clusters=connection.execute("SELECT count(DISTINCT cluster_id) FROM headline_clusters").fetchone()[0],
    )
