import dagster as dg

# One partition per dump (dump_id); the sensor and `newsdesk run` add them as dumps appear.
dumps_partitions = dg.DynamicPartitionsDefinition(name="dumps")


def parsed_signature(instance: dg.DagsterInstance, dump_id: str) -> str | None:
    """The dump signature recorded by the latest materialization of the dump's partition."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("parsed_dump"), asset_partitions=[dump_id]), limit=1
    ).records
    if not records:
        return None
    entry = records[0].asset_materialization.metadata.get("dump_signature")
    return entry.value if entry is not None else None
