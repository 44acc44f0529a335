"""One partition per dump (dump_id); the sensor and `newsdesk run` add them as dumps appear."""

from dataclasses import dataclass

import dagster as dg

from assets.keys import DUMP_SIGNATURE, DUMPS_PARTITIONS, PARSED_DUMP

dumps_partitions = dg.DynamicPartitionsDefinition(name=DUMPS_PARTITIONS)


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
