import json
import os
import shutil

import dagster as dg
import pytest

from assets.project import SAMPLE_DUMPS_DIR
from orchestration.definitions import defs
from orchestration.resources import DumpsFolder
from orchestration.sensors import dumps_folder_sensor, plan_dump_runs


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def tick(instance, folder, cursor=None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"dumps": DumpsFolder(path=str(folder))}, definitions=defs
    )
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


def test_dumps_parsed_before_the_sensor_started_are_not_parsed_again():
    plan = plan_dump_runs(
        {"a": ("sig-a", False), "b": ("sig-b2", False)},
        cursor={},
        partitions={"a", "b"},
        parsed_signature={"a": "sig-a", "b": "sig-b1"}.get,
    )
    assert plan.to_run == {} and plan.waiting == ["b"]
    again = plan_dump_runs({"a": ("sig-a", False), "b": ("sig-b2", False)}, plan.cursor, {"a", "b"})
    assert again.to_run == {"b": "sig-b2"}


def test_the_daily_schedule_requests_a_publish_run():
    schedule = defs.get_schedule_def("daily_publish")
    assert schedule.execution_timezone == "Africa/Casablanca"
    context = dg.build_schedule_context(scheduled_execution_time=None)
    [request] = schedule.evaluate_tick(context).run_requests
    assert schedule.job_name == "publish_warehouse" and request is not None
