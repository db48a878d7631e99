"""Launch and follow runs through the Dagster webserver's GraphQL API, as the UI does.

`metrics up` and the soak test submit work this way so it goes through the instance's run queue
(and its warehouse pool), shows on the Runs and Job pages, and is watched by run monitoring.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests

LOCATION = "metrics"
REPOSITORY = "__repository__"
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")

_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey }
  }
}"""

_BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionSetNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}"""

_BACKFILL_RUNS = """
query BackfillRuns($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { id status runs(limit: 50) { runId status } }
    ... on BackfillNotFoundError { message }
  }
}"""

_LOCATIONS = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } } } }"""

_RUN = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName stats { ... on RunStatsSnapshot { stepsSucceeded stepsFailed } } }
    ... on RunNotFoundError { message }
  }
}"""


class UIError(RuntimeError):
    """The webserver refused or failed a request; the message is Dagster's own."""


@dataclass
class RunState:
    run_id: str
    status: str
    steps_succeeded: int = 0
    steps_failed: int = 0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class DagsterUI:
    # Creating a range run writes one "planned" event per asset and day before it returns (4,000+
    # for 90 days): on SQLite storage and a busy 2-core machine that has taken minutes.
    def __init__(self, host: str = "127.0.0.1", port: int = 3000, timeout_s: float = 900.0) -> None:
        self.base = f"http://{host}:{port}"
        self.timeout_s = timeout_s

    def run_url(self, run_id: str) -> str:
        return f"{self.base}/runs/{run_id}"

    def query(self, query: str, variables: dict | None = None) -> dict:
        resp = requests.post(f"{self.base}/graphql", json={"query": query, "variables": variables or {}},
                             timeout=self.timeout_s)
        resp.raise_for_status()
        body = resp.json()
        if body.get("errors"):
            raise UIError("; ".join(e.get("message", str(e)) for e in body["errors"]))
        return body["data"]

    def is_up(self) -> bool:
        try:
            return "version" in self.query("{ version }")
        except (requests.RequestException, UIError, ValueError):
            return False

    def location_loaded(self) -> bool:
        """True once the code location has loaded; a load error is raised with Dagster's message."""
        try:
            data = self.query(_LOCATIONS)["workspaceOrError"]
        except (requests.RequestException, UIError, ValueError):
            return False
        entries = {e["name"]: e for e in data.get("locationEntries", [])}
        entry = entries.get(LOCATION)
        if entry is None or entry["loadStatus"] != "LOADED" or entry["locationOrLoadError"] is None:
            return False
        err = entry["locationOrLoadError"]
        if err["__typename"] == "PythonError":
            raise UIError(f"code location {LOCATION!r} failed to load: {err.get('message')}")
        return True

    def wait_until_up(self, timeout_s: float, alive: Callable[[], bool] = lambda: True) -> None:
        """Until the webserver answers and the code location has loaded (launching sooner blocks)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.is_up() and self.location_loaded():
                return
            if not alive():
                raise UIError(f"the Dagster webserver for {self.base} exited while starting")
            time.sleep(1.0)
        raise UIError(f"the Dagster webserver or code location not ready on {self.base} within "
                      f"{timeout_s:.0f} s")

    def launch(
        self,
        job: str,
        *,
        tags: dict[str, str] | None = None,
        asset_selection: Sequence[Sequence[str]] | None = None,
    ) -> str:
        """Submit a run of `job` (optionally a subset of its assets) to the run queue; its run id."""
        selector: dict = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": job}
        if asset_selection is not None:
            selector["assetSelection"] = [{"path": list(p)} for p in asset_selection]
        params = {
            "selector": selector,
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
        }
        out = self.query(_LAUNCH, {"params": params})["launchRun"]
        if out["__typename"] != "LaunchRunSuccess":
            raise UIError(f"launching {job} failed: {out}")
        return out["run"]["runId"]

    def backfill(self, partition_names: Sequence[str], asset_selection: Sequence[Sequence[str]],
                 tags: dict[str, str] | None = None) -> str:
        """An asset backfill, as the UI's Materialize -> partition range launches it; its id.
        The assets' single-run backfill policy makes it one run for the whole range."""
        params = {
            "partitionNames": list(partition_names),
            "assetSelection": [{"path": list(p)} for p in asset_selection],
            "fromFailure": False,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        out = self.query(_BACKFILL, {"params": params})["launchPartitionBackfill"]
        if out["__typename"] != "LaunchBackfillSuccess":
            raise UIError(f"launching the backfill failed: {out}")
        return out["backfillId"]

    def backfill_runs(self, backfill_id: str) -> tuple[str, list[RunState]]:
        """(backfill status, its runs)."""
        out = self.query(_BACKFILL_RUNS, {"id": backfill_id})["partitionBackfillOrError"]
        if out["__typename"] != "PartitionBackfill":
            raise UIError(f"backfill {backfill_id}: {out.get('message', out['__typename'])}")
        return out["status"], [RunState(r["runId"], r["status"]) for r in out["runs"]]

    def run(self, run_id: str) -> RunState:
        out = self.query(_RUN, {"runId": run_id})["runOrError"]
        if out["__typename"] != "Run":
            raise UIError(f"run {run_id}: {out.get('message', out['__typename'])}")
        stats = out.get("stats") or {}
        return RunState(run_id, out["status"], stats.get("stepsSucceeded") or 0,
                        stats.get("stepsFailed") or 0)

    def wait(self, run_id: str, timeout_s: float, on_poll: Callable[[RunState], None] = lambda s: None,
             poll_s: float = 2.0) -> RunState:
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.run(run_id)
            on_poll(state)
            if state.finished:
                return state
            if time.monotonic() > deadline:
                raise UIError(f"run {run_id} still {state.status} after {timeout_s:.0f} s: "
                              f"{self.run_url(run_id)}")
            time.sleep(poll_s)
