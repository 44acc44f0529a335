"""The real thing: `newsdesk ui` (webserver and daemon) in a subprocess, driven over GraphQL."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest

from newsdesk.project import SAMPLE_DUMPS_DIR
from newsdesk.warehouse import WarehouseUnavailable
from tests.builders import read_warehouse

pytestmark = pytest.mark.slow  # end to end: real runs of the whole pipeline

NEWSDESK = Path(sys.executable).with_name("newsdesk")
DUMP = "turess-es-2026-02-20"
OTHER_DUMP = "sauress-ar-2026-02-22"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class GraphQL:
    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}/graphql"

    def __call__(self, query: str, **variables) -> dict:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:  # a resolver raised: HTTP 500, the error in the body
            answer = json.load(error)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def ui(tmp_path):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    shutil.copy(SAMPLE_DUMPS_DIR / f"{DUMP}.jsonl", dumps)
    shutil.copy(SAMPLE_DUMPS_DIR / f"{OTHER_DUMP}.parquet", dumps)
    port, pages_port = free_port(), free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    warehouse = tmp_path / "w.ducklake"
    args = [str(NEWSDESK), "ui", "--port", str(port), "--pages-port", str(pages_port), "--dumps", str(dumps), "--warehouse", str(warehouse)]
    log = tmp_path / "ui.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    graphql = GraphQL(port)

    def up():
        try:
            return graphql("{ version }")
        except OSError:
            assert process.poll() is None, "newsdesk ui exited"
            return None

    try:
        wait_for(up, 120, "the webserver")
        yield graphql, warehouse
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: dg dev stops the webserver and the daemon
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # Dagster's current tooling: `dagster dev` would warn that `dg dev` supersedes it.
    assert "SupersessionWarning" not in log.read_text(errors="replace")


LOCATION = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""
REPOSITORY = """
{ repositoriesOrError { ... on RepositoryConnection { nodes {
    name location { name }
    schedules { name executionTimezone }
    sensors { name }
    assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name } } } }
} } } }
"""
ADD_PARTITION = """
mutation($repo: RepositorySelector!, $key: String!) {
  addDynamicPartition(repositorySelector: $repo, partitionsDefName: "dumps", partitionKey: $key) { __typename }
}
"""
LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  }
}
"""
STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
BACKFILL = """
mutation($keys: [String!]!) {
  launchPartitionBackfill(backfillParams: {assetSelection: [{path: ["parsed_dump"]}], partitionNames: $keys}) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  }
}
"""
LINKS = """
query($path: [String!]!) { assetOrError(assetKey: {path: $path}) { ... on Asset {
    assetMaterializations(limit: 1) { metadataEntries { label ... on UrlMetadataEntry { url } } }
} } }
"""
BACKFILL_STATUS = "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"


def launch(graphql, repo: dict, job: str, tags: list[dict]) -> str:
    params = {"selector": {**repo, "jobName": job}, "executionMetadata": {"tags": tags}}
    launched = graphql(LAUNCH, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished():
        status = graphql(STATUS, id=run_id)["runOrError"]["status"]
        return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

    assert wait_for(finished, 180, f"run {job}") == "SUCCESS"
    return run_id


def test_the_ui_loads_everything_and_runs_a_partition(ui):
    graphql, warehouse = ui
    [entry] = graphql(LOCATION)["workspaceOrError"]["locationEntries"]
    assert entry["loadStatus"] == "LOADED" and entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry

    [repository] = graphql(REPOSITORY)["repositoriesOrError"]["nodes"]
    assert {"daily_publish", "weekly_maintenance"} == {s["name"] for s in repository["schedules"]}
    assert {s["executionTimezone"] for s in repository["schedules"]} == {"Africa/Casablanca"}
    assert {"dumps_folder_sensor", "newsdesk_automation"} <= {s["name"] for s in repository["sensors"]}
    assets = {"/".join(node["assetKey"]["path"]): node for node in repository["assetNodes"]}
    assert {"parsed_dump", "pages", "articles", "headlines", "headline_sightings", "headline_clusters", "corpus_report"} <= set(
        assets
    )
    checks = {name for node in assets.values() for name in (c["name"] for c in node["assetChecksOrError"].get("checks", []))}
    assert {"contract_columns", "status_known", "published_date_not_after_crawl", "headline_id_unique"} <= checks

    repo = {"repositoryLocationName": repository["location"]["name"], "repositoryName": repository["name"]}
    graphql(ADD_PARTITION, repo=repo, key=DUMP)
    launch(graphql, repo, "ingest_dump", [{"key": "dagster/partition", "value": DUMP}])

    # A backfill of every partition, as the UI's "Materialize all" launches it: the daemon runs
    # the partitions in parallel, and none of them touches the DuckDB file.
    graphql(ADD_PARTITION, repo=repo, key=OTHER_DUMP)
    backfill = graphql(BACKFILL, keys=[DUMP, OTHER_DUMP])["launchPartitionBackfill"]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill

    def backfill_done():
        status = graphql(BACKFILL_STATUS, id=backfill["backfillId"])["partitionBackfillOrError"]["status"]
        return status if status not in ("REQUESTED",) else None

    assert wait_for(backfill_done, 240, "the backfill") in ("COMPLETED", "COMPLETED_SUCCESS")
    launch(graphql, repo, "publish_warehouse", [])

    def published():
        try:
            with read_warehouse(warehouse) as connection:
                return connection.execute("SELECT count(*) FROM pages WHERE dump_id = ?", [DUMP]).fetchone()[0]
        except duckdb.IOException:
            return None  # a sensor-launched publish may hold the file this very second

    assert wait_for(published, 30, "the rows") == 4

    # The report and the checks page open in one click: the links are served over http.
    [materialization] = graphql(LINKS, path=["corpus_report"])["assetOrError"]["assetMaterializations"]
    links = {entry["label"]: entry.get("url") for entry in materialization["metadataEntries"]}
    with urllib.request.urlopen(links["report"], timeout=10) as response:
        page = response.read().decode()
    assert "newsdesk corpus report" in page
    script = re.search(r"src='(plotly-[^']+)'", page).group(1)
    with urllib.request.urlopen(links["report"].rsplit("/", 1)[0] + "/" + script, timeout=10) as response:
        assert response.status == 200
    with urllib.request.urlopen(links["checks_page"], timeout=10) as response:
        assert "newsdesk checks" in response.read().decode()
    with pytest.raises(urllib.error.HTTPError, match="404"):  # nothing else of the warehouse's folder
        urllib.request.urlopen(links["report"].rsplit("/", 1)[0] + "/w.ducklake", timeout=10)

# What the Automation tab of an asset asks (GetEvaluationsQuery of the Dagster UI, trimmed).
EVALUATIONS = """
query($asset: AssetKeyInput!) {
  assetConditionEvaluationRecordsOrError(assetKey: $asset, limit: 30) {
    __typename
    ... on AssetConditionEvaluationRecords { records {
      evaluationId
      evaluation { rootUniqueId evaluationNodes {
        ... on UnpartitionedAssetConditionEvaluationNode { uniqueId status }
        ... on PartitionedAssetConditionEvaluationNode { uniqueId numTrue numCandidates }
      } }
      evaluationNodes { uniqueId numTrue numCandidates isPartitioned entityKey { ... on AssetKey { path } } }
    } }
  }
}
"""
PARTITIONS = '{ assetNodeOrError(assetKey: {path: ["parsed_dump"]}) { ... on AssetNode { partitionKeys } } }'


def test_the_automation_tab_still_loads_after_a_dump_leaves(ui, tmp_path):
    """The sensors parse both dumps and the automation publishes them; each evaluation names the
    dumps it saw as a range of partition keys. Once a dump leaves the folder, the Automation tabs
    load again within a sensor tick (they answered HTTP 500 "Partition range ... is not a valid
    range", dagster#33910, for as long as the history named the dump)."""
    graphql, warehouse = ui

    def published():
        try:
            with read_warehouse(warehouse) as connection:
                return connection.execute("SELECT count(DISTINCT dump_id) FROM pages").fetchone()[0] == 2
        except (WarehouseUnavailable, duckdb.IOException, duckdb.CatalogException):
            return False  # not yet, or a publish holds the file this very second

    wait_for(published, 300, "the sensors to parse and publish both dumps")

    def records(asset: str) -> list[dict]:
        answer = graphql(EVALUATIONS, asset={"path": [asset]})["assetConditionEvaluationRecordsOrError"]
        assert answer["__typename"] == "AssetConditionEvaluationRecords", answer
        return answer["records"]

    dump_nodes = [
        node
        for record in records("pages")
        for node in record["evaluationNodes"]
        if node["isPartitioned"] and node["entityKey"]["path"] == ["parsed_dump"]
    ]
    assert any(node["numTrue"] for node in dump_nodes), "the history of pages names no parsed dump"

    (tmp_path / "dumps" / f"{DUMP}.jsonl").unlink()
    wait_for(
        lambda: DUMP not in graphql(PARTITIONS)["assetNodeOrError"]["partitionKeys"], 120, "the dumps sensor to drop the dump"
    )

    def every_tab_loads() -> bool:
        try:
            for asset in ("pages", "articles", "parsed_dump", "corpus_report"):
                records(asset)
        except AssertionError:  # an evaluation under way when the dump left names it: the next tick drops it
            return False
        return True

    wait_for(every_tab_loads, 120, "the Automation tabs to load")
