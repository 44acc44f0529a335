"""The names other code refers to: asset keys, groups, jobs, partitions, resources and the
metadata keys that carry facts between runs. One definition each; code imports these."""

import dagster as dg

from newsdesk.publish import CONTRACT_TABLES

PARSED_DUMP = dg.AssetKey("parsed_dump")
CORPUS_REPORT = dg.AssetKey("corpus_report")
TABLES = tuple(dg.AssetKey(table) for table in CONTRACT_TABLES)

INGEST_GROUP = "ingest"
WAREHOUSE_GROUP = "warehouse"
REPORTS_GROUP = "reports"

INGEST_JOB = "ingest_dump"
PUBLISH_JOB = "publish_warehouse"
MAINTENANCE_JOB = "maintain_warehouse"
MAINTENANCE_OP = "maintain_warehouse_op"
DUMPS_PARTITIONS = "dumps"
CHECKS_OP = "great_expectations"
WAREHOUSE_TABLES_OP = "warehouse_tables"

# The tag of the runs that write the warehouse: a deployment's run queue starts one at a time
# (deploy/dagster.yaml).
WRITER_TAGS = {"newsdesk/writes_warehouse": "true"}

DUMPS_RESOURCE = "dumps"
WAREHOUSE_RESOURCE = "warehouse"

# Metadata of a parsed_dump materialization that later runs read back: the dump's signature
# when it was parsed (has the dump changed since?).
DUMP_SIGNATURE = "dump_signature"
ROW_COUNT = "dagster/row_count"
# Materialization metadata: the warehouse snapshot a materialization wrote or describes.
SNAPSHOT_ID = "snapshot_id"
