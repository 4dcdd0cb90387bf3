"""What several test files and `bench/bad_inputs.py` share: the synthetic series every tiny job trains on,
and that job as `bilstm train` arguments (the CLI twin of `conftest.tiny`)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def tiny_args(epochs: int = 3, *extra: str) -> list[str]:
    """`bilstm train` options for a job of seconds: lookback 48, horizon 12, one layer of 16, `epochs`
    epochs; `extra` options come last and win."""
    return [
        "--time-column", "timestamp", "--target", "y", "--lookback", "48", "--horizon", "12",
        "--epochs", str(epochs), "--set", "model.hidden_size=16", "--set", "model.num_layers=1",
        "--set", "train.lr=0.005", *extra,
    ]  # fmt: skip
