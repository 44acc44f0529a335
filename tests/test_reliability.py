"""Nothing lost, nothing let in: killed runs, readers during writes, hostile names and archives."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from assets.resources import settings_environment
from tests.builders import REPOSITORY, copy_warehouse, make_page, messages, read_warehouse, write_jsonl_dump

pytestmark = pytest.mark.slow  # end to end: real runs of the whole pipeline

NEWSDESK = Path(sys.executable).with_name("newsdesk")
TABLES = ("pages", "articles", "headline_sightings", "headlines", "headline_clusters")


def snapshot(warehouse: Path) -> dict:
    with read_warehouse(warehouse) as connection:
        return {table: connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in TABLES}


def start_run(dumps: Path, warehouse: Path, home: Path) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    # The tests run on copies of the corpus's dumps folders: to a warehouse the corpus built,
    # another folder, whose changed dumps it may replace only when told.
    args = [str(NEWSDESK), "run", "--dumps", str(dumps), "--warehouse", str(warehouse), "--allow-removals"]
    # In a session of its own: the test can tell whether any process of the run outlives it.
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def session_processes(session: int) -> dict[int, str]:
    """The processes of a session (the run's, its workers in process groups of their own included)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == session:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ProcessLookupError):
            continue
    return found


def processes_left(session: int, patience: float = 60) -> list[str]:
    """The command lines of the session's processes still alive after `patience` seconds."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline and session_processes(session):
        time.sleep(0.1)
    survivors = session_processes(session)
    for pid in survivors:  # leave nothing behind on the machine that runs the tests
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    return list(survivors.values())


def run(dumps: Path, warehouse: Path, home: Path) -> str:
    process = start_run(dumps, warehouse, home)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, out + err
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two states of a dumps folder, and the warehouse each one must give."""
    root = tmp_path_factory.mktemp("corpus")
    before, after = root / "before", root / "after"
    before.mkdir()
    after.mkdir()
    for name in ("a-2026-01-01", "b-2026-01-02"):
        write_jsonl_dump(before / f"{name}.jsonl", 3000)
    write_jsonl_dump(after / "a-2026-01-01.jsonl", 3000, variant="v2")  # changed
    os.link(before / "b-2026-01-02.jsonl", after / "b-2026-01-02.jsonl")  # unchanged
    write_jsonl_dump(after / "c-2026-01-03.jsonl", 3000)  # new
    expected = {}
    for state in (before, after):
        warehouse = root / f"{state.name}.ducklake"
        run(state, warehouse, root / f"home-{state.name}")
        expected[state.name] = snapshot(warehouse)
    return root, expected


def warehouse_in_state(corpus, tmp_path, state: str) -> tuple[Path, Path, Path]:
    """A copy of the dumps, warehouse, partition files and Dagster home that `state` built."""
    root, _ = corpus
    dumps, warehouse, home = tmp_path / "dumps", tmp_path / "w.ducklake", tmp_path / "home"
    shutil.copytree(root / state, dumps, copy_function=os.link)
    copy_warehouse(root / f"{state}.ducklake", warehouse)
    shutil.copytree(root / f"home-{state}", home)
    (home / "newsdesk_warehouse").unlink(missing_ok=True)  # the copied instance belongs to the copy
    return dumps, warehouse, home


def switch_dumps(corpus, dumps: Path, state: str) -> None:
    root, _ = corpus
    shutil.rmtree(dumps)
    shutil.copytree(root / state, dumps, copy_function=os.link)


def wait_for_file(pattern_dir: Path, glob: str, process: subprocess.Popen, timeout: float = 120) -> bool:
    """Whether a file matching glob that was not there before appears while process runs."""
    there = set(pattern_dir.glob(glob))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if set(pattern_dir.glob(glob)) - there:
            return True
        time.sleep(0.005)
    return False


# Where each moment of a run shows: a partition file being written, a publish writing data files.
MOMENTS = {"parsing a dump": ("w.parts", ".*.tmp"), "publishing": ("w.data", "**/ducklake-*.parquet")}


@pytest.mark.parametrize("moment", ["parsing a dump", "publishing", "after 2 s"])
def test_a_killed_run_leaves_the_old_or_the_new_warehouse_and_the_next_run_completes(corpus, tmp_path, moment):
    _, expected = corpus
    dumps, warehouse, home = warehouse_in_state(corpus, tmp_path, "before")
    switch_dumps(corpus, dumps, "after")
    process = start_run(dumps, warehouse, home)
    if moment in MOMENTS:
        folder, glob = MOMENTS[moment]
        assert wait_for_file(tmp_path / folder, glob, process)
    else:
        time.sleep(2)
    process.send_signal(signal.SIGKILL)  # the main process alone: its run workers must follow it
    process.wait()
    assert processes_left(process.pid) == []

    assert snapshot(warehouse) in (expected["before"], expected["after"])
    run(dumps, warehouse, home)
    assert snapshot(warehouse) == expected["after"]
    assert not [path.name for path in (tmp_path / "w.parts").glob(".*")]  # no half-written partition file


def test_an_interruption_that_a_library_logs_prints_no_traceback():
    """Ctrl-C raises wherever the command is. SQLAlchemy, closing a connection then, logs the
    interruption it caught before passing it on: the command's process prints nothing of it,
    and still prints the errors a library logs."""
    code = """
import logging
from orchestration.cli import _configure_process
_configure_process()
log = logging.getLogger("sqlalchemy.pool.impl.NullPool")
for error in (KeyboardInterrupt(), OSError("disk full")):
    try:
        raise error
    except BaseException:
        log.error("Exception closing connection", exc_info=True)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPOSITORY)
    assert "KeyboardInterrupt" not in result.stderr
    assert result.stderr.count("Exception closing connection") == 1 and "OSError: disk full" in result.stderr


@pytest.mark.parametrize("moment", ["parsing a dump", "publishing"])
def test_ctrl_c_stops_the_run_with_one_line_and_publishes_all_or_nothing(corpus, tmp_path, moment):
    _, expected = corpus
    dumps, warehouse, home = warehouse_in_state(corpus, tmp_path, "before")
    switch_dumps(corpus, dumps, "after")
    process = start_run(dumps, warehouse, home)
    folder, glob = MOMENTS[moment]
    assert wait_for_file(tmp_path / folder, glob, process)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err and len(messages(err)) == 1, err
    assert processes_left(process.pid) == []
    state = snapshot(warehouse)
    assert state in (expected["before"], expected["after"])
    published = state == expected["after"]
    assert ("published" in err and "nothing" not in err) if published else "nothing was published" in err, err
    with dg.DagsterInstance.from_config(str(home)) as instance:  # no run shows as started for ever
        assert not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))


READER = """
import os, sys, time
from newsdesk.warehouse import Warehouse, connect_with_extensions
connection = connect_with_extensions()
connection.execute(Warehouse(sys.argv[1]).attach_statement(read_only=sys.argv[2] == "ro"))
connection.execute("USE warehouse")
if sys.argv[4] == "transaction":
    connection.execute("BEGIN TRANSACTION")
counts = set()
print("open", flush=True)
while not os.path.exists(sys.argv[3]):
    counts.add(connection.execute(
        "SELECT count(*), count(DISTINCT dump_id), (SELECT count(*) FROM headline_sightings) FROM pages"
    ).fetchone())
    time.sleep(0.05)
print(sorted(counts), flush=True)
"""


@pytest.mark.parametrize("mode", ["ro", "rw"])
@pytest.mark.parametrize("reading", ["transaction", "query by query"])
def test_a_reader_holding_the_warehouse_does_not_fail_a_run_nor_see_half_a_publish(corpus, tmp_path, mode, reading):
    _, expected = corpus
    dumps, warehouse, home = warehouse_in_state(corpus, tmp_path, "before")
    old = (len(expected["before"]["pages"]), 2, len(expected["before"]["headline_sightings"]))
    new = (len(expected["after"]["pages"]), 3, len(expected["after"]["headline_sightings"]))
    stop = tmp_path / "stop-reading"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse), mode, str(stop), reading],
        stdout=subprocess.PIPE, text=True, cwd=REPOSITORY,
    )
    assert reader.stdout.readline().strip() == "open"
    switch_dumps(corpus, dumps, "after")
    run(dumps, warehouse, home)  # the reader holds its connection all along
    time.sleep(0.5)  # a few queries after the publish
    stop.touch()
    seen = eval(reader.communicate(timeout=60)[0])
    if reading == "transaction":
        assert seen == [old]  # the snapshot it started with, to its end
    else:
        assert set(seen) <= {old, new} and new in seen  # whole snapshots only, never a mix
    assert snapshot(warehouse) == expected["after"]


FOREIGN_WRITER = """
import sys, time
from newsdesk.warehouse import Warehouse, connect_with_extensions
connection = connect_with_extensions()
connection.execute(Warehouse(sys.argv[1]).attach_statement(read_only=False))
connection.execute("SET preserve_insertion_order = false")  # the lake cuts row groups by bytes (docs/contract.md)
connection.execute("BEGIN TRANSACTION")
connection.execute("INSERT INTO warehouse.pages (dump_id, page_id, status) VALUES ('by hand', '1', 'ok')")
if sys.argv[2] == "commit":
    connection.execute("COMMIT")
print("written", flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("foreign", ["open transaction", "commit"])
def test_a_foreign_writer_killed_does_not_wedge_the_warehouse(corpus, tmp_path, foreign):
    _, expected = corpus
    dumps, warehouse, home = warehouse_in_state(corpus, tmp_path, "before")
    writer = subprocess.Popen(
        [sys.executable, "-c", FOREIGN_WRITER, str(warehouse), foreign.split()[0]],
        stdout=subprocess.PIPE, text=True, cwd=REPOSITORY,
    )
    assert writer.stdout.readline().strip() == "written"
    writer.kill()  # a user's session dies with its write open, or after committing it
    writer.wait()
    switch_dumps(corpus, dumps, "after")
    run(dumps, warehouse, home)
    state = snapshot(warehouse)
    if foreign == "commit":  # its row is data like any other: newsdesk never deletes what it did not load
        assert ("by hand", "1") in [row[:2] for row in state["pages"]]
        state["pages"] = [row for row in state["pages"] if row[0] != "by hand"]
    assert state == expected["after"]


def test_names_are_data_not_code(tmp_path):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    name = "x'; DROP TABLE pages; --"
    (dumps / f"{name}.jsonl").write_text('{"id": "a\\"b; DELETE FROM pages", "text": "%s"}\n' % make_page().replace("\n", "\\n"))
    weird = dumps / "été 2026 (copie) $HOME"
    (weird / "..dots").mkdir(parents=True)
    (weird / "..dots" / "ça va; rm -rf.txt").write_text(make_page())
    warehouse = tmp_path / "w.ducklake"
    run(dumps, warehouse, tmp_path / "home")
    with read_warehouse(warehouse) as connection:
        rows = connection.execute("SELECT dump_id, page_id, status FROM pages ORDER BY ALL").fetchall()
    assert rows == [
        ("x'; DROP TABLE pages; --", 'a"b; DELETE FROM pages', "ok"),
        ("été 2026 (copie) $HOME", "..dots/ça va; rm -rf", "ok"),
    ]


def test_an_extension_file_that_is_not_duckdbs_is_refused(tmp_path, monkeypatch):
    """Extensions load from their packages with DuckDB's signature checked once a process (a
    file replaced since is checked anew), and a connection loads no other unsigned extension."""
    import duckdb

    from newsdesk.warehouse import DUCKLAKE, connect_with_extensions, extension_file

    genuine = extension_file(*DUCKLAKE)
    package = tmp_path / "copied_extension_package"
    copy = package / genuine.relative_to(genuine.parents[2])
    copy.parent.mkdir(parents=True)
    (package / "__init__.py").touch()
    shutil.copyfile(genuine, copy)
    monkeypatch.syspath_prepend(tmp_path)
    extensions = ((package.name, DUCKLAKE[1]),)
    connect_with_extensions(extensions).close()
    forged = bytearray(genuine.read_bytes())
    forged[len(forged) // 2] ^= 0xFF
    replacement = copy.with_suffix(".new")
    replacement.write_bytes(forged)
    replacement.replace(copy)  # as an upgrade does: the loaded file is mapped, not rewritten
    with pytest.raises(duckdb.IOException, match="signature is either missing or invalid"):
        connect_with_extensions(extensions)
    unknown = tmp_path / "unknown.duckdb_extension"
    unknown.write_bytes(forged)
    with pytest.raises(duckdb.IOException, match="signature is either missing or invalid"):
        connect_with_extensions().execute(f"LOAD '{unknown}'")


def test_symlinks_out_of_the_dumps_root_are_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(make_page(title="Secret"))
    dumps = tmp_path / "dumps"
    (dumps / "d").mkdir(parents=True)
    (dumps / "d" / "ok.txt").write_text(make_page())
    (dumps / "d" / "leak.txt").symlink_to(secret)
    (dumps / "d" / "outside").symlink_to(tmp_path, target_is_directory=True)
    warehouse = tmp_path / "w.ducklake"
    run(dumps, warehouse, tmp_path / "home")
    with read_warehouse(warehouse) as connection:
        rows = connection.execute("SELECT page_id, status FROM pages ORDER BY ALL").fetchall()
        titles = connection.execute("SELECT title FROM articles").fetchall()
    # The link to a folder gets a row too: its pages are not read, and not silently lost.
    assert rows == [("leak", "unsafe_link"), ("ok", "ok"), ("outside/", "unsafe_link")]
    assert titles == [("Un titre",)]


def test_an_unwritable_warehouse_location_is_one_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [str(NEWSDESK), "run", "--warehouse", str(blocker / "w.ducklake")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    [message] = messages(result.stderr)
    assert message.startswith(f"newsdesk: cannot write next to {blocker / 'w.ducklake'}") and "Traceback" not in result.stdout
    assert blocker.read_text() == "a file where a folder should be"


def test_a_dumps_folder_that_vanishes_fails_the_publish_and_keeps_the_warehouse(corpus, tmp_path):
    _, expected = corpus
    dumps, warehouse, home = warehouse_in_state(corpus, tmp_path, "before")
    dumps.rename(tmp_path / "elsewhere")  # as if the network share went away mid-run
    env = {**os.environ, "DAGSTER_HOME": str(home), **settings_environment(dumps, warehouse)}
    probe = "from orchestration.definitions import defs; import dagster as dg, sys; " + (
        "r = defs.resolve_job_def('publish_warehouse').execute_in_process(instance=dg.DagsterInstance.get(), "
        "raise_on_error=False); sys.exit(0 if not r.success else 1)"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert result.returncode == 0, "the publish should have failed"
    assert "dumps folder not found" in result.stderr
    assert snapshot(warehouse) == expected["before"]  # the rows were not taken for removed dumps


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    # A real full disk needs a real small file system: CI runs as root, which may mount one.
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)])
    assert mounted.returncode == 0, "this test mounts a 24 MB tmpfs: it needs root (CAP_SYS_ADMIN)"
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


def test_a_full_disk_is_one_clear_error_and_no_damage(corpus, tmp_path, small_disk):
    _, expected = corpus
    dumps, warehouse, home = warehouse_in_state(corpus, tmp_path, "before")
    copy_warehouse(warehouse, small_disk / "w.ducklake")
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 64 * 1024))  # leave 64 KB
    switch_dumps(corpus, dumps, "after")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    result = subprocess.run(
        [str(NEWSDESK), "run", "--dumps", str(dumps), "--warehouse", str(small_disk / "w.ducklake"), "--allow-removals"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "No space left on device" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    filler.unlink()
    assert snapshot(small_disk / "w.ducklake") == expected["before"]
    assert not [p.name for p in small_disk.rglob("*") if p.name.startswith(".")]  # no half-written leftovers


def test_the_page_size_limit_is_configurable(tmp_path):
    dumps = tmp_path / "dumps"
    (dumps / "d").mkdir(parents=True)
    (dumps / "d" / "small.txt").write_text(make_page())
    (dumps / "d" / "big.txt").write_text(make_page(body=("x" * 5000,)))
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "NEWSDESK_MAX_PAGE_BYTES": "4000"}
    warehouse = tmp_path / "w.ducklake"
    args = [str(NEWSDESK), "run", "--dumps", str(dumps), "--warehouse", str(warehouse)]
    assert subprocess.run(args, env=env, capture_output=True).returncode == 0
    with read_warehouse(warehouse) as connection:
        rows = connection.execute("SELECT page_id, status FROM pages ORDER BY ALL").fetchall()
    assert rows == [("big", "too_large"), ("small", "ok")]
