import dagster as dg

# One partition per dump (dump_id); the sensor and `newsdesk run` add them as dumps appear.
dumps_partitions = dg.DynamicPartitionsDefinition(name="dumps")
