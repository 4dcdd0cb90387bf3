"""What the library runners share: the JSON protocol (payload on stdin, one answer line on stdout, progress
on stderr) and the series of a fold, scaled with the mean and scale the project's scaler fitted on the fold's
train rows. Runs in the comparison venv: numpy and pandas only, no `bilstm`.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd


def read_payload() -> dict:
    return json.load(sys.stdin)


def answer(result: dict) -> None:
    print(json.dumps(result))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def scaled_columns(payload: dict, fold: dict) -> np.ndarray:
    """(rows, C) values of the payload's columns (features first, target last), scaled for `fold`."""
    frame = pd.read_csv(payload["csv"])
    values = frame[payload["columns"]].to_numpy(dtype=np.float64)
    return (values - np.asarray(fold["mean"])) / np.asarray(fold["scale"])


def rounded(forecasts: np.ndarray) -> list:
    """Forecasts as JSON lists, 6 decimals: far below any difference the benchmarks report."""
    return np.round(forecasts, 6).tolist()
