import json
import os
import shutil

import dagster as dg
import pytest

from assets.resources import DumpsFolder, WarehouseResource
from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.readers import Dump, discover_dumps
from newsdesk.work import plan_dumps_work
from orchestration.definitions import defs
from orchestration.sensors import dumps_folder_sensor, plan_dump_runs


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def tick(instance, folder, cursor=None) -> dg.SensorResult:
    resources = {
        "dumps": DumpsFolder(path=str(folder)),
        "warehouse": WarehouseResource(path=str(folder.with_name(folder.name + "-warehouse.ducklake"))),
    }
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
    result = dumps_folder_sensor(context)
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def requested(result) -> list[str]:
    return sorted(request.partition_key for request in result.run_requests if request.partition_key)


def test_a_new_dump_runs_on_the_second_tick_once_its_copy_is_stable(instance, tmp_path):
    shutil.copy(SAMPLE_DUMPS_DIR / "turess-es-2026-02-20.jsonl", tmp_path)
    first = tick(instance, tmp_path)
    assert requested(first) == []  # seen once: it may still be being copied
    second = tick(instance, tmp_path, first.cursor)
    assert requested(second) == ["turess-es-2026-02-20"]
    assert instance.get_dynamic_partitions("dumps") == ["turess-es-2026-02-20"]
    third = tick(instance, tmp_path, second.cursor)
    assert requested(third) == []  # requested once per content


def test_a_half_copied_dump_waits_until_it_stops_changing(instance, tmp_path):
    target = tmp_path / "site-2026-01-01.jsonl"
    source = (SAMPLE_DUMPS_DIR / "turess-es-2026-02-20.jsonl").read_bytes()
    target.write_bytes(source[:100])
    cursor = tick(instance, tmp_path).cursor
    target.write_bytes(source[:2000])
    still_copying = tick(instance, tmp_path, cursor)
    assert requested(still_copying) == []
    target.write_bytes(source)
    os.utime(target, ns=(1, 1))
    done_copying = tick(instance, tmp_path, still_copying.cursor)
    assert requested(done_copying) == []
    assert requested(tick(instance, tmp_path, done_copying.cursor)) == ["site-2026-01-01"]


def test_a_success_marker_makes_a_folder_dump_ready_at_once(instance, tmp_path):
    shutil.copytree(SAMPLE_DUMPS_DIR / "maghress-fr-2026-02-18", tmp_path / "maghress-fr-2026-02-18")
    (tmp_path / "maghress-fr-2026-02-18" / "_SUCCESS").touch()
    assert requested(tick(instance, tmp_path)) == ["maghress-fr-2026-02-18"]


def test_a_changed_dump_runs_again_once_and_a_removed_one_is_dropped(instance, tmp_path):
    dump = tmp_path / "turess-es-2026-02-20.jsonl"
    shutil.copy(SAMPLE_DUMPS_DIR / dump.name, dump)
    cursor = tick(instance, tmp_path, tick(instance, tmp_path).cursor).cursor
    with dump.open("a") as out:
        out.write(json.dumps({"text": "late page"}) + "\n")
    cursor = tick(instance, tmp_path, cursor).cursor
    again = tick(instance, tmp_path, cursor)
    assert requested(again) == ["turess-es-2026-02-20"]
    assert requested(tick(instance, tmp_path, again.cursor)) == []

    dump.unlink()
    removed = tick(instance, tmp_path, again.cursor)
    assert [request.job_name for request in removed.run_requests] == ["publish_warehouse"]
    assert instance.get_dynamic_partitions("dumps") == []


def test_one_rule_decides_what_each_dump_needs(tmp_path):
    """newsdesk.work.plan_dumps_work, which the sensor and `newsdesk run` both call."""
    for name in ("new", "same", "changed", "stale_file"):
        (tmp_path / f"{name}.jsonl").write_text('{"text": "x"}\n')
    dumps = discover_dumps(tmp_path).dumps
    signature = {dump.dump_id: dump.signature for dump in dumps}
    work = plan_dumps_work(
        dumps,
        known={"same", "changed", "stale_file", "gone"},
        parsed_signatures={"same": signature["same"], "changed": "1:1", "stale_file": signature["stale_file"]},
        part_file_is_current=lambda dump_id: dump_id != "stale_file",
    )
    assert sorted(work.to_parse) == ["changed", "new", "stale_file"]
    assert work.up_to_date == ["same"] and work.removed == ["gone"] and work.new == ["new"]


def test_a_dump_never_parsed_is_planned_without_its_signature(tmp_path):
    """A folder dump's signature is a stat of each of its files: seconds before a first parse of a
    large corpus can start, and a dump never parsed needs parsing whatever it says."""

    class UnsignedDump(Dump):
        @property
        def signature(self) -> str:
            raise AssertionError("the signature of a dump never parsed was taken")

    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "page.txt").write_text("x")
    [dump] = discover_dumps(tmp_path).dumps
    unsigned = UnsignedDump(dump.dump_id, dump.path, dump.format)
    work = plan_dumps_work([unsigned], known=set(), parsed_signatures={}, part_file_is_current=lambda _: True)
    assert work.to_parse == ["new"] and work.new == ["new"]


def test_dumps_parsed_before_the_sensor_started_are_not_parsed_again(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.jsonl").write_text('{"text": "x"}\n')
    dumps = discover_dumps(tmp_path).dumps
    signatures = {dump.dump_id: dump.signature for dump in dumps}
    work = plan_dumps_work(dumps, {"a", "b"}, {"a": signatures["a"], "b": "an older signature"}, lambda _: True)
    first = plan_dump_runs(work, signatures, set(), {"a": 7, "b": 8}, cursor={})
    assert first.to_run == {} and first.waiting == ["b"]  # a is up to date; b may still be being copied
    again = plan_dump_runs(work, signatures, set(), {"a": 7, "b": 8}, first.cursor)
    assert again.to_run == {"b": f"b@{signatures['b']}@8"}
    assert plan_dump_runs(work, signatures, set(), {"a": 7, "b": 8}, again.cursor).to_run == {}  # once per parse
    after_a_parse = plan_dump_runs(work, signatures, set(), {"a": 7, "b": 9}, again.cursor)
    assert after_a_parse.to_run == {"b": f"b@{signatures['b']}@9"}  # still needing work after it: again


def test_the_daily_schedule_requests_a_publish_run():
    schedule = defs.get_schedule_def("daily_publish")
    assert schedule.execution_timezone == "Africa/Casablanca"
    context = dg.build_schedule_context(scheduled_execution_time=None)
    [request] = schedule.evaluate_tick(context).run_requests
    assert schedule.job_name == "publish_warehouse"
    assert request.partition_key is None  # the publish covers every dump
