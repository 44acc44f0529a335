"""When a publish may take dumps out of the warehouse, or replace them.

A dump leaves the warehouse when it leaves the dumps folder. A forgotten `--dumps`, a folder
emptied by a failed copy or a share that went away would then wipe a warehouse, so a publish
that would remove dumps refuses, unless the user says so, when the folder is not the one the
warehouse was built from, or when it would remove more than a share of the warehouse's dumps;
likewise when dumps of another folder would replace the warehouse's dumps of the same names.
The CLI asks before it parses; the publish asks again, inside its transaction, before it
changes anything."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import duckdb

# A publish may remove up to this share of the warehouse's dumps without being told to.
DEFAULT_MAX_REMOVED_SHARE = 0.5


class RemovalRefused(RuntimeError):
    """The publish would remove dumps it was not told it may remove; says what and how to allow it."""


@dataclass(frozen=True)
class RemovalPolicy:
    allow: bool = False  # the user said the removals are wanted
    max_share: float = DEFAULT_MAX_REMOVED_SHARE


def check_removals(
    built_from: str | None, folder: Path, loaded: Collection[str], present: Collection[str], policy: RemovalPolicy
) -> None:
    """Raise RemovalRefused if removing the loaded dumps that are not present is not allowed."""
    removed = sorted(set(loaded) - set(present))
    if not removed or policy.allow:
        return
    folder = folder.expanduser().resolve()
    named = ", ".join(removed[:3]) + (f" and {len(removed) - 3} more" if len(removed) > 3 else "")
    if built_from is not None and Path(built_from) != folder:
        raise RemovalRefused(
            f"the warehouse was built from {built_from}, not {folder}, which lacks {len(removed)} of its "
            f"{len(loaded)} dumps ({named}); give --dumps {built_from}, or --allow-removals to take them out"
        )
    if len(removed) > policy.max_share * len(loaded):
        raise RemovalRefused(
            f"{folder} lacks {len(removed)} of the warehouse's {len(loaded)} dumps ({named}), more than "
            f"{policy.max_share:.0%}; if they were removed on purpose, run again with --allow-removals"
        )


def check_replacements(built_from: str | None, folder: Path, replaced: Collection[str], policy: RemovalPolicy) -> None:
    """Raise RemovalRefused if dumps of another folder would replace the warehouse's dumps of the
    same names (a forgotten `--dumps` pointing at a folder that shares their names) unasked."""
    folder = folder.expanduser().resolve()
    if not replaced or policy.allow or built_from is None or Path(built_from) == folder:
        return
    replaced = sorted(replaced)
    named = ", ".join(replaced[:3]) + (f" and {len(replaced) - 3} more" if len(replaced) > 3 else "")
    raise RemovalRefused(
        f"the warehouse was built from {built_from}, not {folder}, whose {len(replaced)} dumps of the same "
        f"names ({named}) differ from the warehouse's; give --dumps {built_from}, or --allow-removals to "
        "replace them"
    )


def warehouse_origin(connection: duckdb.DuckDBPyConnection) -> tuple[str | None, list[str]]:
    """The dumps folder the warehouse was last published from (None before the first publish),
    and the dumps it holds."""
    has_meta = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name IN ('dumps_folder', 'loaded_dumps')"
    ).fetchone()[0]
    if has_meta < 2:
        return None, []
    folder = connection.execute("SELECT path FROM meta.dumps_folder").fetchone()
    loaded = [row[0] for row in connection.execute("SELECT dump_id FROM meta.loaded_dumps").fetchall()]
    return (folder[0] if folder else None), loaded
