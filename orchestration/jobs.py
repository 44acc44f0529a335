import dagster as dg

from orchestration.partitions import dumps_partitions

# Parse one dump into its partition file; runs of different dumps can go in parallel.
ingest_dump_job = dg.define_asset_job(
    "ingest_dump",
    selection=dg.AssetSelection.groups("ingest"),
    partitions_def=dumps_partitions,
    description="Parse one dump (a partition) into its Parquet partition file.",
)

# Publish all partition files into the DuckDB warehouse (the only job that writes it), check
# it, and rebuild the corpus report.
publish_warehouse_job = dg.define_asset_job(
    "publish_warehouse",
    selection=dg.AssetSelection.groups("warehouse", "reports"),
    description="Load changed dumps into the warehouse, rebuild the distinct articles and headlines, "
    "run the checks and rebuild the corpus report.",
)
