"""Durable file writes and the names of partition files: the one place each is decided."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Temporary files are named `.<target>.<pid>.tmp`: hidden, unique per process, and traceable
# to the process that wrote them (a killed writer's leftovers are removed by the next run).
_TEMPORARY = ".{name}.{pid}.tmp"


def temporary_path(target: Path) -> Path:
    return target.with_name(_TEMPORARY.format(name=target.name, pid=os.getpid()))


def temporaries(folder: Path) -> Iterator[tuple[Path, int | None]]:
    """The temporary files in folder, each with the pid of the process writing it (None if its
    name holds none)."""
    for temporary in folder.glob(".*.tmp"):
        pid = temporary.name.rsplit(".", 2)[-2]
        yield temporary, int(pid) if pid.isdigit() else None


def remove_orphaned_temporaries(folder: Path) -> None:
    """Delete the temporary files in folder whose writing process is gone (killed mid-write)."""
    for leftover, pid in temporaries(folder):
        if pid is not None and not process_exists(pid):
            leftover.unlink(missing_ok=True)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sync_folder(folder: Path) -> None:
    """Put a folder's entries (a rename, a new file) on disk."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def durable_replace(source: Path, target: Path) -> None:
    """Rename source over target, with the data and the rename on disk before returning:
    a reader sees the old file or the new one, and a crash leaves one of them whole."""
    with open(source, "rb") as written:
        os.fsync(written.fileno())
    os.replace(source, target)
    sync_folder(target.parent)


@contextmanager
def durable_write(target: Path) -> Iterator[Path]:
    """A temporary path to write target's new content to; when the block ends without error
    it durably replaces target, and in any case no temporary file is left behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(target)
    try:
        yield temporary
        durable_replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def part_file_name(dump_id: str) -> str:
    """The partition file of a dump: a digest of its dump_id, so that any dump_id (quotes,
    slashes, Unicode, 200 letters) gives a short, safe file name; the dump_id itself is a
    column inside the file."""
    return hashlib.sha256(dump_id.encode("utf-8", "surrogateescape")).hexdigest()[:32] + ".parquet"
