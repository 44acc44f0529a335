"""Resources: where the dumps are, and the DuckDB warehouse with its one-writer rule.

Each deployment setting is a resource field read from an environment variable when a run
starts (the UI shows which): NEWSDESK_DUMPS, NEWSDESK_WAREHOUSE, NEWSDESK_MAX_PAGE_BYTES, and
the optional NEWSDESK_CATALOG, NEWSDESK_DATA_PATH, NEWSDESK_PAGES_URL. The
`newsdesk` command sets them from its options and defaults (settings_environment) for every
process it starts; a deployment sets them for its code location. Nothing is connected at
import time, and only whether an optional variable is set is read then.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pydantic

from assets.keys import DUMPS_RESOURCE, WAREHOUSE_RESOURCE
from newsdesk.pages_server import page_url
from newsdesk.readers import (
    DEFAULT_MAX_DUMP_BYTES,
    DEFAULT_MAX_DUMP_RECORDS,
    DEFAULT_MAX_EXPANSION,
    DEFAULT_MAX_PAGE_BYTES,
    Dump,
    DumpListing,
    ReadLimits,
    discover_dumps,
)
from newsdesk.warehouse import DEFAULT_DUCKDB_MEMORY, DEFAULT_LOCK_TIMEOUT_SECONDS, Warehouse

DUMPS_VARIABLE = "NEWSDESK_DUMPS"
WAREHOUSE_VARIABLE = "NEWSDESK_WAREHOUSE"
MAX_PAGE_BYTES_VARIABLE = "NEWSDESK_MAX_PAGE_BYTES"
CATALOG_VARIABLE = "NEWSDESK_CATALOG"
DATA_PATH_VARIABLE = "NEWSDESK_DATA_PATH"
PAGES_URL_VARIABLE = "NEWSDESK_PAGES_URL"
_OPTIONAL_VARIABLES = {"catalog": CATALOG_VARIABLE, "data_path": DATA_PATH_VARIABLE, "pages_url": PAGES_URL_VARIABLE}


class DumpsFolder(dg.ConfigurableResource):
    """The folder of dumps: one entry (folder or file) per dump, one dump per partition, and
    what reading one dump may cost (newsdesk.readers.ReadLimits)."""

    path: str
    max_page_bytes: int = pydantic.Field(
        default=DEFAULT_MAX_PAGE_BYTES, description="A larger page is recorded as too_large without being read."
    )
    max_dump_records: int = pydantic.Field(
        default=DEFAULT_MAX_DUMP_RECORDS, description="A dump stops, with a too_large row, past this many records."
    )
    max_dump_bytes: int = pydantic.Field(
        default=DEFAULT_MAX_DUMP_BYTES, description="A dump stops, with a too_large row, past this many bytes of pages."
    )
    max_expansion: float = pydantic.Field(
        default=DEFAULT_MAX_EXPANSION,
        description="A compressed dump stops, with a too_large row, when it expands past this many times its size.",
    )

    def listing(self) -> DumpListing:
        return discover_dumps(Path(self.path))

    def read_limits(self) -> ReadLimits:
        """The limits, refused with one line if one is not a positive number."""
        try:
            return ReadLimits(
                max_page_bytes=self.max_page_bytes,
                max_dump_records=self.max_dump_records,
                max_dump_bytes=self.max_dump_bytes,
                max_expansion=self.max_expansion,
            )
        except ValueError as error:
            raise dg.Failure(str(error), allow_retries=False) from None

    def dump(self, dump_id: str) -> Dump:
        for dump in self.listing().dumps:
            if dump.dump_id == dump_id:
                return dump
        raise dg.Failure(
            f"dump {dump_id!r} is not in {self.path}: it was removed, or the partition was typed by hand",
            allow_retries=False,
        )


class WarehouseResource(dg.ConfigurableResource):
    """The DuckLake warehouse (see newsdesk.warehouse.Warehouse) and its partition files."""

    path: str
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    duckdb_memory_limit: str = pydantic.Field(
        default=DEFAULT_DUCKDB_MEMORY,
        description="DuckDB's memory for the publish, the checks and queries (e.g. 600MB, 2GB); it spills to disk beyond it.",
    )
    checks_page: bool = pydantic.Field(
        default=True, description="Record the checks' results on the checks page next to the warehouse."
    )
    pages_url: str = pydantic.Field(
        default="",
        description="The URL at which the warehouse's folder is served (`newsdesk ui` serves it), so that the "
        "report and checks page open in one click from the UI; empty: their file paths are shown.",
    )
    catalog: str = pydantic.Field(
        default="",
        description="The DuckLake catalog when it is not the SQLite file `path`, e.g. 'postgres:dbname=lake host=db' "
        "(several machines; `path` then places the data files, on storage they all reach).",
    )

    data_path: str = pydantic.Field(
        default="",
        description="Where the data files go when not in `<path stem>.data/`: a shared folder, or S3-compatible "
        "storage such as 's3://bucket/lake/' (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
        "AWS_REGION, AWS_ENDPOINT_URL).",
    )

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.path, self.lock_timeout_seconds, self.duckdb_memory_limit, self.catalog, self.data_path)

    def page_link(self, page: Path, anchor: str = "") -> dg.MetadataValue:
        """A page next to the warehouse (the report, the checks page), as a link that opens it
        from the UI when the folder is served at pages_url, else as its path."""
        if not self.pages_url:
            return dg.MetadataValue.path(str(page))
        return dg.MetadataValue.url(page_url(self.pages_url, self.warehouse.file.parent, page, anchor))


def settings_environment(
    dumps: Path,
    warehouse: Path,
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    catalog: str = "",
    data_path: str = "",
    pages_url: str = "",
) -> dict[str, str]:
    """The environment that points the definitions' resources at these settings."""
    return {
        DUMPS_VARIABLE: str(dumps.resolve()),
        WAREHOUSE_VARIABLE: str(warehouse.resolve()),
        MAX_PAGE_BYTES_VARIABLE: str(max_page_bytes),
        CATALOG_VARIABLE: catalog,
        DATA_PATH_VARIABLE: data_path,
        PAGES_URL_VARIABLE: pages_url,
    }


def resources_from_environment() -> dict[str, dg.ConfigurableResource]:
    """The resources, each setting read from its variable when a run starts. An optional
    setting whose variable is not set when the definitions load keeps its default (Dagster
    fails a run whose EnvVar is unset)."""
    optional = {field: dg.EnvVar(name) for field, name in _OPTIONAL_VARIABLES.items() if name in os.environ}
    return {
        DUMPS_RESOURCE: DumpsFolder(
            path=dg.EnvVar(DUMPS_VARIABLE), max_page_bytes=dg.EnvVar.int(MAX_PAGE_BYTES_VARIABLE)
        ),
        WAREHOUSE_RESOURCE: WarehouseResource(path=dg.EnvVar(WAREHOUSE_VARIABLE), **optional),
    }
