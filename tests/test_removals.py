"""No silent wipe: a publish takes dumps out of the warehouse only when that is plainly meant."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.removals import RemovalPolicy, RemovalRefused, check_removals, check_replacements
from tests.test_scale import build, jsonl_dump, page, snapshot
from tests.builders import messages, read_warehouse

NEWSDESK = Path(sys.executable).with_name("newsdesk")
LOADED = [f"dump-{i}" for i in range(10)]


def test_removing_a_few_dumps_of_the_same_folder_is_allowed(tmp_path):
    check_removals(str(tmp_path), tmp_path, LOADED, LOADED[2:], RemovalPolicy())


def test_removing_most_dumps_is_refused_unless_allowed(tmp_path):
    with pytest.raises(RemovalRefused, match="lacks 6 of the warehouse's 10 dumps.*--allow-removals"):
        check_removals(str(tmp_path), tmp_path, LOADED, LOADED[6:], RemovalPolicy())
    with pytest.raises(RemovalRefused, match="lacks 10 of"):
        check_removals(str(tmp_path), tmp_path, LOADED, [], RemovalPolicy())  # a folder emptied mid-run
    check_removals(str(tmp_path), tmp_path, LOADED, [], RemovalPolicy(allow=True))
    check_removals(str(tmp_path), tmp_path, LOADED, LOADED[6:], RemovalPolicy(max_share=0.6))


def test_another_folder_may_add_dumps_but_not_remove_any_unasked(tmp_path):
    other = tmp_path / "other"
    check_removals(str(tmp_path), other, LOADED, [*LOADED, "new"], RemovalPolicy())
    with pytest.raises(RemovalRefused, match=f"built from {tmp_path}, not {other}.*--dumps {tmp_path}"):
        check_removals(str(tmp_path), other, LOADED, LOADED[1:], RemovalPolicy())


def test_another_folder_may_not_replace_dumps_of_the_same_names_unasked(tmp_path):
    other = tmp_path / "other"
    check_replacements(str(tmp_path), tmp_path, LOADED[:2], RemovalPolicy())  # the same folder: a changed dump
    check_replacements(None, other, LOADED[:2], RemovalPolicy())  # the first publish
    with pytest.raises(RemovalRefused, match=f"built from {tmp_path}, not {other}, whose 2 dumps of the same names"):
        check_replacements(str(tmp_path), other, LOADED[:2], RemovalPolicy())
    check_replacements(str(tmp_path), other, LOADED[:2], RemovalPolicy(allow=True))


@pytest.mark.slow
def test_a_publish_from_another_folder_with_the_same_dump_names_is_refused(tmp_path):
    """The folder the daemon reads was switched to another one whose dumps share the names of
    the warehouse's: their rows would be replaced. The publish refuses, inside its transaction."""
    mine = folder_of_two_dumps(tmp_path / "mine")
    warehouse = tmp_path / "w.ducklake"
    build(mine, warehouse)
    before = snapshot(warehouse)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    for dump in mine.iterdir():
        jsonl_dump(theirs / dump.name, [page("Un autre article")])
    with pytest.raises(RemovalRefused, match="whose 2 dumps of the same names"):
        build(theirs, warehouse)
    assert snapshot(warehouse) == before


def folder_of_two_dumps(folder: Path) -> Path:
    folder.mkdir()
    for name in ("site-2026-01-01", "site-2026-01-02"):
        jsonl_dump(folder / f"{name}.jsonl", [page(f"Article de {name}")])
    return folder


@pytest.mark.slow
def test_a_refused_publish_changes_nothing(tmp_path):
    dumps = folder_of_two_dumps(tmp_path / "dumps")
    warehouse = tmp_path / "w.ducklake"
    build(dumps, warehouse)
    before = snapshot(warehouse)
    for dump in dumps.iterdir():
        dump.unlink()
    with pytest.raises(RemovalRefused):
        build(dumps, warehouse)
    assert snapshot(warehouse) == before
    with read_warehouse(warehouse) as connection:
        assert connection.execute("SELECT path FROM meta.dumps_folder").fetchall() == [(str(dumps.resolve()),)]


def newsdesk_run(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    return subprocess.run([str(NEWSDESK), "run", *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_forgotten_dumps_option_does_not_wipe_the_warehouse(tmp_path):
    mine = folder_of_two_dumps(tmp_path / "mine")
    warehouse = tmp_path / "w.ducklake"
    assert newsdesk_run("--dumps", str(mine), "--warehouse", str(warehouse), home=tmp_path / "home").returncode == 0
    before = snapshot(warehouse)

    forgot = newsdesk_run("--warehouse", str(warehouse), home=tmp_path / "home")  # the bundled samples
    assert forgot.returncode == 2
    [message] = messages(forgot.stderr)
    assert message.startswith(f"newsdesk: the warehouse was built from {mine}") and snapshot(warehouse) == before

    empty = tmp_path / "empty"
    shutil.copytree(mine, empty)
    for dump in empty.iterdir():
        dump.unlink()
    emptied = newsdesk_run("--dumps", str(empty), "--warehouse", str(warehouse), home=tmp_path / "home")
    assert emptied.returncode == 2 and snapshot(warehouse) == before

    meant = newsdesk_run(
        "--dumps", str(SAMPLE_DUMPS_DIR), "--warehouse", str(warehouse), "--allow-removals", home=tmp_path / "home"
    )
    assert meant.returncode == 0, meant.stdout + meant.stderr
    assert "43 pages" in meant.stdout


@pytest.mark.slow
def test_a_second_run_on_the_same_warehouse_refuses_at_once(tmp_path):
    warehouse = tmp_path / "w.ducklake"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    first = subprocess.Popen(
        [str(NEWSDESK), "run", "--warehouse", str(warehouse)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    lock = Path(str(warehouse) + ".run.lock")
    while not lock.exists() and first.poll() is None:
        time.sleep(0.01)
    second = newsdesk_run("--warehouse", str(warehouse), home=tmp_path / "home")
    first.communicate(timeout=600)
    assert first.returncode == 0
    assert second.returncode == 2
    assert messages(second.stderr) == [f"newsdesk: another newsdesk run is working on {warehouse}: wait for it to end"]


def test_a_writer_kept_waiting_by_another_says_so_then_gives_up_in_one_line(tmp_path):
    """A publish or maintenance while another writer (the daemon's publish, say) holds the
    warehouse: it says what it waits for, and after lock_timeout_seconds stops, writing nothing."""
    from filelock import FileLock

    from newsdesk.warehouse import Warehouse, WarehouseUnavailable

    warehouse = tmp_path / "w.ducklake"
    with Warehouse(str(warehouse)).writer():
        pass
    heard = []
    with FileLock(str(warehouse) + ".lock"):
        with pytest.raises(WarehouseUnavailable, match=r"another writer has held .* for over 1 s \(lock_timeout_seconds\)"):
            with Warehouse(str(warehouse), lock_timeout_seconds=1).writer(waiting=heard.append):
                pass
    assert len(heard) == 1 and heard[0].startswith(f"waiting for another writer of {warehouse}")
    with Warehouse(str(warehouse), lock_timeout_seconds=1).writer(waiting=heard.append):
        pass  # free again: no wait
    assert len(heard) == 1
