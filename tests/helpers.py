"""What several test files and `bench/bad_inputs.py` share: the synthetic series every tiny job trains on,
that job as a config (`tiny`), as `bilstm train` arguments (`tiny_args`) and run untracked (`run_tiny_job`),
the installed `bilstm` command, and the states of the test Prefect server's flow runs. Free ports, health
waits and process stops are `deployments.processes`, shared with the dashboard."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

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
