"""Resources: where the dumps are, and the DuckDB warehouse with its one-writer rule.

Settings come from the environment (NEWSDESK_DUMPS, NEWSDESK_WAREHOUSE) with defaults inside
the project; nothing connects at import time.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import duckdb
from filelock import FileLock, Timeout

from assets.dump_readers import DEFAULT_MAX_PAGE_BYTES, Dump, DumpListing, discover_dumps
from assets.project import SAMPLE_DUMPS_DIR, VAR_DIR, read_sql

DEFAULT_WAREHOUSE = VAR_DIR / "warehouse.duckdb"
# DuckDB's memory for one connection (it spills to disk beyond it): with Python, Dagster and
# the frames of the publish step, a run stays under 4 GB whatever the corpus size.
DEFAULT_DUCKDB_MEMORY = "2GB"


class WarehouseUnavailable(RuntimeError):
    """The warehouse file cannot be opened: locked too long, unreadable, or not a DuckDB file."""


class DumpsFolder(dg.ConfigurableResource):
    """The folder of dumps: one entry (folder or file) per dump, one dump per partition.

    A page larger than max_page_bytes is recorded as `too_large` without being read."""

    path: str
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES

    def listing(self) -> DumpListing:
        return discover_dumps(Path(self.path))

    def dump(self, dump_id: str) -> Dump:
        for dump in self.listing().dumps:
            if dump.dump_id == dump_id:
                return dump
        raise FileNotFoundError(f"dump {dump_id!r} is no longer in {self.path}")


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file and the per-dump partition files it is published from.

    Partition files live next to the warehouse, in `<name>.parts/`. Only the publish step
    writes the DuckDB file (see `writer`), so parallel partition runs never meet on it.
    """

    path: str
    lock_timeout_seconds: float = 600.0
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY

    @property
    def file(self) -> Path:
        return Path(self.path).expanduser().resolve()

    @property
    def parts_dir(self) -> Path:
        return self.file.with_name(self.file.stem + ".parts")

    def part_path(self, dump_id: str) -> Path:
        # Dump ids are data (quotes, slashes, Unicode): quoting makes one safe file name each.
        return self.parts_dir / (quote(dump_id, safe="") + ".parquet")

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The one writable connection, on a copy of the warehouse that replaces it when the
        block ends without error (publish by swap).

        Readers never block the writer and never see half a publish: a connection opened
        before the swap keeps reading the old file, one opened after reads the new one. A
        crash or an error leaves the warehouse as it was. The file lock keeps writers one at
        a time across processes.
        """
        self.file.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.file) + ".lock")
        try:
            lock.acquire(timeout=self.lock_timeout_seconds)
        except Timeout as error:
            raise WarehouseUnavailable(
                f"another newsdesk run has been writing {self.file} for over {self.lock_timeout_seconds:.0f} s"
            ) from error
        draft = self.file.with_name(f".{self.file.name}.draft")
        try:
            _remove_database(draft)  # left by a writer that was killed
            try:
                if not _take_copy_ahead(self.file, draft) and self.file.exists():
                    _copy_file(self.file, draft)
                connection = duckdb.connect(str(draft))
                configure_connection(connection, self.duckdb_memory_limit)
            except (OSError, duckdb.Error) as error:
                raise WarehouseUnavailable(f"cannot prepare a new version of {self.file}: {error}") from error
            try:
                connection.execute(read_sql("schema.sql"))
                connection.execute(read_sql("publish/meta.sql"))  # some views read its summaries
                connection.execute(read_sql("views.sql"))
                yield connection
                connection.execute("CHECKPOINT")
            finally:
                connection.close()
            _durable_replace(draft, self.file)
        finally:
            _remove_database(draft)
            lock.release()

    @contextmanager
    def copy_ahead(self) -> Iterator[None]:
        """Copy the warehouse to disk in a thread, while the block goes on, for the block's own
        `writer` to start from: a run that parses before it publishes finds its draft made.

        The writer takes the copy only if the warehouse is still the file that was copied
        (same inode, size and modification time, before and after the copy); otherwise it
        copies as usual. A copy nobody took is deleted when the block ends."""
        if not self.file.exists():
            yield
            return
        _remove_orphaned_copies(self.file)
        target = self.file.with_name(f".{self.file.name}.ahead-{os.getpid()}")
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsdesk-copy-ahead") as copier:
            _COPIES_AHEAD[self.file] = (copier.submit(_durable_copy, self.file, target), target)
            try:
                yield
            finally:
                pending = _COPIES_AHEAD.pop(self.file, None)
                if pending is not None:
                    pending[0].exception()  # wait for the copy before deleting it
                target.unlink(missing_ok=True)

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection, for queries and checks."""
        if not self.file.exists():
            raise WarehouseUnavailable(f"no warehouse at {self.file}: run `newsdesk run` first")
        connection = self._connect_read_only()
        try:
            configure_connection(connection, self.duckdb_memory_limit)
            yield connection
        finally:
            connection.close()

    def portable_reader(self) -> Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]:
        """`reader` as a function of plain values, which pickles: for another process."""
        return functools.partial(_reader, self.path, self.lock_timeout_seconds, self.duckdb_memory_limit)

    def _connect_read_only(self) -> duckdb.DuckDBPyConnection:
        # Only a process holding the file read-write (a user's DuckDB CLI, say) blocks a reader.
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.file), read_only=True)
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise WarehouseUnavailable(f"cannot open warehouse {self.file}: {error}") from error
                if time.monotonic() + delay > deadline:
                    raise WarehouseUnavailable(
                        f"warehouse {self.file} stayed locked by another process for "
                        f"{self.lock_timeout_seconds:.0f} s: {error}"
                    ) from error
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            except duckdb.Error as error:
                raise WarehouseUnavailable(f"cannot open warehouse {self.file}: {error}") from error


def _reader(path: str, lock_timeout_seconds: float, duckdb_memory_limit: str):
    return Warehouse(
        path=path, lock_timeout_seconds=lock_timeout_seconds, duckdb_memory_limit=duckdb_memory_limit
    ).reader()


def configure_connection(connection: duckdb.DuckDBPyConnection, memory_limit: str = DEFAULT_DUCKDB_MEMORY) -> None:
    """DuckDB settings of every warehouse connection: bounded memory (spilling to the
    database's temporary folder beyond it), and no insertion order to keep, which lets large
    inserts stream instead of buffering."""
    connection.execute("SET memory_limit = $limit", {"limit": memory_limit})
    connection.execute("SET preserve_insertion_order = false")


def _copy_file(source: Path, target: Path) -> None:
    """Copy a file inside the kernel with copy_file_range, which shares the blocks instead on
    file systems that can (XFS, Btrfs, NFS 4.2): then a publish costs what it changes, not the
    warehouse's size. Elsewhere (ext4, here) it is a plain copy; shutil if the call is refused."""
    try:
        with open(source, "rb") as reader, open(target, "wb") as writer:
            remaining = os.fstat(reader.fileno()).st_size
            while remaining > 0:
                copied = os.copy_file_range(reader.fileno(), writer.fileno(), min(remaining, 1 << 30))
                if copied == 0:
                    break
                remaining -= copied
        if remaining == 0:
            return
    except OSError:  # not supported between these file systems, or by this kernel
        pass
    shutil.copyfile(source, target)


# Copies made by Warehouse.copy_ahead in this process: warehouse file -> (the copy's future,
# whose result is the identity of the file copied, or None if it changed meanwhile; the copy).
_COPIES_AHEAD: dict[Path, tuple[Future, Path]] = {}


def _file_identity(path: Path) -> tuple[int, int, int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _durable_copy(source: Path, target: Path) -> tuple[int, int, int, int] | None:
    """Copy source to target, on disk; the identity of source, or None if it changed meanwhile."""
    if sys.platform == "linux":  # where a thread has its own priority: this one gives way to the run
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    before = _file_identity(source)
    _copy_file(source, target)
    with open(target, "rb") as written:
        os.fsync(written.fileno())
    return before if _file_identity(source) == before else None


def _take_copy_ahead(warehouse: Path, draft: Path) -> bool:
    """Move this process's copy ahead of warehouse to draft, if it is a copy of the warehouse
    as it is now (waiting for it if it is still being made)."""
    pending = _COPIES_AHEAD.pop(warehouse, None)
    if pending is None:
        return False
    future, copy = pending
    try:
        copied = future.result()
    except OSError:
        copied = None  # no room for the copy, say: the writer copies as usual
    if copied is None or not warehouse.exists() or copied != _file_identity(warehouse):
        copy.unlink(missing_ok=True)
        return False
    os.replace(copy, draft)
    return True


def _remove_orphaned_copies(warehouse: Path) -> None:
    """Delete copies ahead left by processes that were killed."""
    for copy in warehouse.parent.glob(f".{warehouse.name}.ahead-*"):
        pid = copy.name.rsplit("-", 1)[1]
        if pid.isdigit() and not _process_exists(int(pid)):
            copy.unlink(missing_ok=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_database(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _durable_replace(source: Path, target: Path) -> None:
    """Rename source over target, with the data and the rename on disk before returning."""
    with open(source, "rb") as written:
        os.fsync(written.fileno())
    os.replace(source, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def settings_from_environment() -> dict[str, str]:
    """NEWSDESK_DUMPS and NEWSDESK_WAREHOUSE, defaulting to the bundled samples and var/."""
    os.environ.setdefault("NEWSDESK_DUMPS", str(SAMPLE_DUMPS_DIR))
    os.environ.setdefault("NEWSDESK_WAREHOUSE", str(DEFAULT_WAREHOUSE))
    return {"dumps": os.environ["NEWSDESK_DUMPS"], "warehouse": os.environ["NEWSDESK_WAREHOUSE"]}


def resources_from_environment() -> dict[str, dg.ConfigurableResource]:
    """The resources of the Definitions: EnvVar fields, read when a run starts, so the UI
    shows where settings come from and a changed environment needs no reload."""
    settings_from_environment()
    return {
        "dumps": DumpsFolder(
            path=dg.EnvVar("NEWSDESK_DUMPS"),
            max_page_bytes=int(os.environ.get("NEWSDESK_MAX_PAGE_BYTES", DEFAULT_MAX_PAGE_BYTES)),
        ),
        "warehouse": Warehouse(path=dg.EnvVar("NEWSDESK_WAREHOUSE")),
    }
