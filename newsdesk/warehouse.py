"""The DuckDB warehouse file: its one-writer rule, its readers, and the partition files it is
published from. Plain Python: the Dagster resource (assets/resources.py) wraps it."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from newsdesk.files import durable_replace, part_file_name
from newsdesk.project import read_sql

# DuckDB's memory for one connection (it spills to disk beyond it): with Python, Dagster and
# the frames of the publish step, a run stays under 4 GB whatever the corpus size.
DEFAULT_DUCKDB_MEMORY = "2GB"
DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0


class WarehouseUnavailable(RuntimeError):
    """The warehouse file cannot be opened: locked too long, unreadable, or not a DuckDB file."""


@dataclass(frozen=True)
class Warehouse:
    """The DuckDB warehouse file and the per-dump partition files it is published from.

    Partition files live next to the warehouse, in `<name>.parts/`. Only `writer` writes the
    DuckDB file, so parallel partition runs never meet on it.
    """

    path: str
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY

    @property
    def file(self) -> Path:
        return Path(self.path).expanduser().resolve()

    @property
    def parts_dir(self) -> Path:
        return self.file.with_name(self.file.stem + ".parts")

    def part_path(self, dump_id: str) -> Path:
        return self.parts_dir / part_file_name(dump_id)

    @property
    def report_path(self) -> Path:
        """The corpus report, rebuilt next to the warehouse on every publish."""
        return self.file.with_name(self.file.stem + "_report.html")

    @property
    def data_docs_index(self) -> Path:
        """Great Expectations' Data Docs of this warehouse's checks: the page to open."""
        return self.file.with_name(self.file.stem + "_data_docs") / "index.html"

    @contextmanager
    def exclusive_run(self) -> Iterator[None]:
        """Held by `newsdesk run` from its start to its end: a second run on the same warehouse
        refuses at once instead of interleaving its dumps with the first one's."""
        lock = FileLock(str(self.file) + ".run.lock")
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=0)
        except Timeout as error:
            raise WarehouseUnavailable(f"another newsdesk run is working on {self.file}: wait for it to end") from error
        except OSError as error:
            raise WarehouseUnavailable(f"cannot write next to {self.file}: {error.strerror or error}") from error
        try:
            yield
        finally:
            lock.release()

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
                if self.file.exists():
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
            durable_replace(draft, self.file)
        finally:
            _remove_database(draft)
            lock.release()

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


def _remove_database(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
