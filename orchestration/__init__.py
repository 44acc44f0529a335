"""newsdesk orchestration: the Dagster Definitions, resources, partitions, jobs, sensors, schedules and CLI."""
