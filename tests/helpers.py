"""What several test files and `bench/bad_inputs.py` share: the synthetic series every tiny job trains on,
that job as a config (`tiny`), as `bilstm train` arguments (`tiny_args`) and run untracked (`run_tiny_job`),
the tiny table of either shape a test parametrised over one series and many reads (`write_shaped`),
the installed `bilstm` command, the states of the test Prefect server's flow runs, and the retrain trigger's
side (the monitor's events emitted, the automation checked, the triggered runs awaited). Free ports, health
waits and process stops are `deployments.processes`, shared with the dashboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from bilstm.config import DataConfig, PipelineConfig, with_overrides

BILSTM = str(Path(sys.executable).parent / "bilstm")  # the installed command


def synthetic_frame(rows: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Hourly series: a daily sine on a random walk plus noise (target `y`), and a related feature `x`."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    walk = np.cumsum(rng.normal(0, 0.3, rows))
    daily = 3 * np.sin(2 * np.pi * t / 24)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "x": np.cos(2 * np.pi * t / 24) + rng.normal(0, 0.1, rows),
            "y": 10 + daily + walk + rng.normal(0, 0.1, rows),
        }
    )


SERIES_LENGTHS = {"a": 200, "b": 260, "c": 230}
SHAPES = ["one", "many"]  # `@pytest.mark.parametrize("shape", SHAPES)`: one series, and many in a long table


def long_frame(lengths: dict[str, int] = SERIES_LENGTHS, seed: int = 0) -> pd.DataFrame:
    """Hourly series (`ds`, `id`, `y`) at different levels and start times: a daily cycle times the level,
    plus noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for number, (name, rows) in enumerate(lengths.items()):
        t = np.arange(rows)
        level = 10.0 * (number + 1)
        y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 24)) + rng.normal(0, 0.5, rows)
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=5 * number)
        parts.append(pd.DataFrame({"ds": pd.date_range(start, periods=rows, freq="h"), "id": name, "y": y}))
    return pd.concat(parts, ignore_index=True)


def shaped_frame(shape: str) -> pd.DataFrame:
    """The tiny table of `shape`: 'one', series a of `long_frame` alone, without a series column; 'many',
    the three series of `long_frame` in one long table."""
    frame = long_frame()
    return frame if shape == "many" else frame[frame.id == "a"].drop(columns="id")


def shaped_config(path, shape: str, **overrides) -> PipelineConfig:
    """The tiny job (lookback 48, horizon 12) on the table of `shape` at `path`: columns `ds`, `y` and, for
    many series, `id`."""
    base = {
        "data.path": str(path),
        "data.time_column": "ds",
        "data.series_column": "id" if shape == "many" else None,
        "data.targets": ["y"],
        "data.setting": "S",
    }
    return tiny(with_overrides(PipelineConfig(), base), **overrides)


def write_shaped(folder: Path, shape: str, frame: pd.DataFrame | None = None, **overrides) -> PipelineConfig:
    """`frame` (default: `shaped_frame(shape)`) written to `folder / 'table.csv'`; the tiny job reading it."""
    path = folder / "table.csv"
    (shaped_frame(shape) if frame is None else frame).to_csv(path, index=False)
    return shaped_config(path, shape, **overrides)


def long_table(lengths: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """A long table of synthetic series (`synthetic_frame`, each its own seed) of `lengths` rows, told apart
    by the column `id`, series after series."""
    parts = [synthetic_frame(rows, seed + n).assign(id=id_) for n, (id_, rows) in enumerate(lengths.items())]
    return pd.concat(parts, ignore_index=True)


def run_tiny_job(folder: Path, epochs: int = 1) -> tuple:
    """The tiny job on `synthetic_frame()` (written to `folder`), untracked: (forecaster, evaluation, the
    frame as read back)."""
    from bilstm.pipeline import run  # torch: only for the tests that train

    path = folder / "series.csv"
    synthetic_frame().to_csv(path, index=False)
    config = tiny(
        **{
            "data.path": str(path),
            "data.time_column": "timestamp",
            "data.targets": ["y"],
            "train.epochs": epochs,
        }
    )
    forecaster, _, evaluation = run(config, progress=False)
    return forecaster, evaluation, pd.read_csv(path, parse_dates=["timestamp"])


def write_table(tmp_path: Path, frame: pd.DataFrame, name: str = "data.csv") -> str:
    """`frame` written to `tmp_path / name` as Parquet (by the suffix) or CSV; the path as a string."""
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return str(path)


def data_config(path: str, **settings) -> DataConfig:
    """The data settings of a synthetic frame's file: time column `timestamp`, target `y`."""
    return DataConfig(path=path, time_column="timestamp", targets=["y"], **settings)


def tiny_args(epochs: int = 3, *extra: str) -> list[str]:
    """`bilstm train` options for a job of seconds: lookback 48, horizon 12, one layer of 16, `epochs`
    epochs; `extra` options come last and win."""
    return [
        "--time-column", "timestamp", "--target", "y", "--lookback", "48", "--horizon", "12",
        "--epochs", str(epochs), "--set", "model.hidden_size=16", "--set", "model.num_layers=1",
        "--set", "train.lr=0.005", *extra,
    ]  # fmt: skip


def tiny(config: PipelineConfig | None = None, **overrides) -> PipelineConfig:
    """The real config, shrunk: 3 epochs of a small network on CPU, short windows."""
    base = {
        "window.lookback": 48,
        "window.horizon": 12,
        "model.hidden_size": 16,
        "model.num_layers": 1,
        "train.epochs": 3,
        "train.batch_size": 64,
        "train.lr": 5e-3,
        "train.device": "cpu",
    }
    return with_overrides(config or PipelineConfig(), base | overrides)


def flow_run_states() -> dict[str, str]:
    """flow-run id -> state type of the latest flow runs on the test Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as prefect:
        latest = prefect.read_flow_runs(sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=50)
    return {str(r.id): r.state.type.value for r in latest}


# emits `(event, model name, version)` items as the monitor flow does (the issue-13 event contract: the
# registered model as the resource, the monitor's figures as the payload), then drains Prefect's event queue
_EMIT = """
import json, sys
from prefect.events import emit_event

for name, model, version in json.loads(sys.argv[1]):
    # emit_event logs a malformed event (a label that is not a string) and returns None
    assert emit_event(
        name,
        resource={"prefect.resource.id": f"bilstm.registered-model.{model}", "prefect.resource.name": model,
                  "bilstm.model.name": model, "bilstm.model.version": version},
        payload={"model_name": model, "model_version": version, "realised_mse_scaled": 0.9,
                 "expected_mse_scaled": 0.3, "threshold_mse_scaled": 0.5, "persistence_mse_scaled": 0.6,
                 "coverage_95": 0.7, "drift": {"y": 0.4}, "degraded": name == "bilstm.model.degraded",
                 "run_id": "monitoring-run-of-the-test"},
    ), name
"""


def emit_model_events(api_url: str, events: list[tuple[str, str, str]]) -> None:
    """Emit `(event, model name, version)` events to the Prefect API at `api_url` from another process, as
    a monitor flow run would, one right after the other."""
    env = dict(os.environ, PREFECT_API_URL=api_url)
    subprocess.run([sys.executable, "-c", _EMIT, json.dumps(events)], env=env, check=True, timeout=120)


def assert_shipped_trigger(client, deployment_id):
    """The deployment's automation on the Prefect server is the trigger of the shipped prefect.yaml's
    `retrain-on-degradation`, its parameters' templates intact, running that deployment; returns it."""
    from deployments.serve import PREFECT_YAML

    spec = yaml.safe_load(PREFECT_YAML.read_text())
    [shipped] = next(e for e in spec["deployments"] if e["name"] == "retrain-on-degradation")["triggers"]
    [automation] = client.read_resource_related_automations(f"prefect.deployment.{deployment_id}")
    trigger, [action] = automation.trigger, automation.actions
    assert automation.enabled and trigger.expect == set(shipped["expect"])
    assert trigger.match.model_dump() == shipped["match"]
    assert (trigger.posture.value, trigger.threshold) == (shipped["posture"], shipped["threshold"])
    assert trigger.within.total_seconds() == shipped["within"]
    assert action.type == "run-deployment" and action.deployment_id == deployment_id
    assert action.parameters == shipped["parameters"]
    return automation


def runs_once_one_ends(api_url: str, deployment_id, timeout: float = 300, settle: float = 3) -> list:
    """The flow runs of a deployment, on the Prefect API at `api_url`, once one of them is final and `settle`
    seconds more have passed (the time for a run that should not be there to show)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deadline = time.monotonic() + timeout
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = [r for r in client.read_flow_runs() if r.deployment_id == deployment_id]
            if any(r.state and r.state.is_final() for r in runs):
                time.sleep(settle)
                return [r for r in client.read_flow_runs() if r.deployment_id == deployment_id]
            time.sleep(1)
    raise TimeoutError(f"no run of deployment {deployment_id} ended within {timeout:.0f} s")
