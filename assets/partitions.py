"""One partition per dump (dump_id); the sensor and `newsdesk run` add them as dumps appear,
and remove them as dumps leave."""

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from assets.keys import CORPUS_REPORT, DUMP_SIGNATURE, DUMPS_PARTITIONS, PARSED_DUMP, TABLES

dumps_partitions = dg.DynamicPartitionsDefinition(name=DUMPS_PARTITIONS)
AUTOMATED_ASSETS = (PARSED_DUMP, *TABLES, CORPUS_REPORT)


def remove_dump_partitions(instance: dg.DagsterInstance, dump_ids: Iterable[str]) -> None:
    """Delete the dumps' partitions, then the automation history that names them."""
    for dump_id in dump_ids:
        instance.delete_dynamic_partition(DUMPS_PARTITIONS, dump_id)
    drop_unreadable_evaluations(instance)


def drop_unreadable_evaluations(instance: dg.DagsterInstance, newest: int | None = None) -> None:
    """Dagster stores the dumps of an automation evaluation as ranges of partition keys (first
    to last), and the UI's Automation tab fails (HTTP 500 "Partition range ... is not a valid
    range. Nonexistent partition keys", dagster issue 33910) on a range whose first or last dump
    is no longer a partition: the evaluations up to the newest such one go, of every asset.
    With `newest`, only that many of each asset's latest evaluations are looked at."""
    known = set(instance.get_dynamic_partitions(DUMPS_PARTITIONS))
    storage = instance.schedule_storage
    unreadable = []
    for key in AUTOMATED_ASSETS:
        cursor = None
        while records := storage.get_auto_materialize_asset_evaluations(key, limit=newest or 100, cursor=cursor):
            for record in records:
                if _names_a_gone_dump(record.get_evaluation_with_run_ids().evaluation, known):
                    unreadable.append(record.timestamp)
            if newest:
                break
            cursor = records[-1].evaluation_id
    if unreadable:
        storage.purge_asset_evaluations(before=max(unreadable) + 0.001)


def _names_a_gone_dump(evaluation, known: set[str]) -> bool:
    for node in evaluation.iter_nodes():
        subsets = [node.true_subset, node.candidate_subset, *(entry.subset for entry in node.subsets_with_metadata)]
        for subset in subsets:
            for key_range in getattr(getattr(subset, "value", None), "key_ranges", ()):
                if key_range.start not in known or key_range.end not in known:
                    return True
    return False


@dataclass(frozen=True)
class LastParse:
    """The latest materialization of a dump's partition: the dump signature it recorded, and
    its event id (which changes with every parse)."""

    signature: str | None
    event_id: int


def last_parses(instance: dg.DagsterInstance, dump_ids: list[str]) -> dict[str, LastParse]:
    """The latest parse of each of these dumps that was ever parsed."""
    found = {}
    for dump_id in dump_ids:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=PARSED_DUMP, asset_partitions=[dump_id]), limit=1
        ).records
        if records:
            entry = records[0].asset_materialization.metadata.get(DUMP_SIGNATURE)
            found[dump_id] = LastParse(entry.value if entry is not None else None, records[0].storage_id)
    return found
