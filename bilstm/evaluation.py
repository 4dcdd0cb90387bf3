"""Evaluation on every test window of one series or of many: the forecaster beside persistence, seasonal naive
and M4's Naive2, per window, per series, per horizon step, and as the means over series (for one series, over
its windows): MSE/MAE scaled, MSE/MAE/RMSE/sMAPE/MASE in original units, M4's OWA against Naive2 where the
data has a seasonal period, and the interval scores where the forecaster has intervals.

MASE (and MSIS) divide by M4's in-sample scale: the seasonal-naive MAE of a series' rows before its first
test target (its train and validation rows). Scaled metrics use REFERENCE scalers (the challenger's, fitted
on the current train rows), so a champion trained on older data is judged on the same footing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bilstm import m4, metrics
from bilstm.data import SeriesTable
from bilstm.forecaster import Forecaster
from bilstm.split import Split

if TYPE_CHECKING:
    from bilstm.pipeline import ScaledSplit

BASELINES = ("naive2", "seasonal_naive", "naive")  # longest first: a key's prefix is the first that fits


@dataclass
class Evaluation:
    metrics: dict[str, float]  # means over series: test_*, naive_test_*, seasonal_naive_test_*, naive2_test_*
    by_series: pd.DataFrame  # one row per series: its id, windows and every metric
    by_horizon: pd.DataFrame
    truth: np.ndarray  # (N, T, k) original units, windows series after series
    forecast: np.ndarray  # (N, T, k)
    series: np.ndarray  # (N,) the series number of each window
    first_rows: np.ndarray  # (N,) the row of each window's first target
    times: pd.DatetimeIndex  # the stamp of every row: window n's targets are at times[first_rows[n]:][:T]
    # level: (lo, hi), each like forecast; empty without intervals
    bands: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class IncomparableModelError(ValueError):
    """Two forecasters do not forecast the same thing (targets, horizon or columns differ). Not a
    `BadInputError`: the promotion gate catches it and keeps the champion; no input of the user's is wrong."""


@dataclass
class Windows:
    """Where the test windows are in a long table of original target values (rows, k): series s starts at row
    first[s], its in-sample rows end at insample_end[s]; window n of series series[n] has its first target at
    row first_rows[n]."""

    targets: np.ndarray
    first: np.ndarray
    insample_end: np.ndarray
    first_rows: np.ndarray
    series: np.ndarray
    ids: np.ndarray  # (S,) the series' ids, for the table per series
    id_column: str
    times: pd.DatetimeIndex


def scored(windows: Windows, pred, units: np.ndarray, bands, horizon: int, period: int) -> Evaluation:
    """Score (N, T, k) forecasts `pred` and their `bands` on `windows`, beside the baselines; `units` (N, k):
    original units per scaled unit of each window's series, by the reference scalers."""
    w = windows
    truth = w.targets[w.first_rows[:, None] + np.arange(horizon)[None, :]]
    # truth -> (N, T, k)
    scales = metrics.mase_scales(w.targets, w.first, w.insample_end, period)[w.series]
    forecasts = {"": pred} | metrics.baselines(
        w.targets, w.first, w.insample_end, w.first_rows, w.series, horizon, period
    )
    per_window = {}
    for name, forecast in forecasts.items():
        prefix = f"{name}_" if name else ""
        scores = metrics.window_scores(truth, forecast, units, scales)
        per_window |= {f"{prefix}{key}": value for key, value in scores.items()}
    per_window |= metrics.interval_scores(truth, bands, units, scales)
    by_series = pd.DataFrame(per_window).groupby(w.series).mean()
    for prefix in ("", *(f"{b}_" for b in BASELINES)):
        at = by_series.columns.get_loc(f"{prefix}mae") + 1
        by_series.insert(at, f"{prefix}rmse", np.sqrt(by_series[f"{prefix}mse"]))
    means = by_series.mean()
    by_series.insert(0, "windows", np.bincount(w.series, minlength=len(w.ids))[by_series.index])
    by_series.insert(0, w.id_column, w.ids[by_series.index])
    result = {}
    for key, value in means.items():
        prefix = next((f"{b}_" for b in BASELINES if key.startswith(f"{b}_")), "")
        result[f"{prefix}test_{key.removeprefix(prefix)}"] = float(value)
    for prefix in ("", *(f"{b}_" for b in BASELINES)):
        result[f"{prefix}test_rmse"] = float(np.sqrt(result[f"{prefix}test_mse"]))
    if period > 1:
        for prefix in ("", "naive_", "seasonal_naive_"):
            result[f"{prefix}test_owa"] = m4.owa(
                result[f"{prefix}test_smape"],
                result[f"{prefix}test_mase"],
                result["naive2_test_smape"],
                result["naive2_test_mase"],
            )
    table = metrics.by_horizon(truth, pred, units, bands)
    return Evaluation(
        result, by_series.reset_index(drop=True), table, truth, pred, w.series, w.first_rows, w.times, bands
    )


def evaluate(forecaster: Forecaster, prepared: ScaledSplit) -> Evaluation:
    """Score `forecaster` on every test window of every series of `prepared`: its own scaler on its inputs
    (series it was not trained on scaled by their train rows), this run's scaler as the reference for the
    scaled metrics; a model that does not forecast the same thing is an `IncomparableModelError`."""
    series, split, spec = prepared.series, prepared.split, forecaster.spec
    first_rows = split.starts("test") + split.lookback
    _check_comparable(forecaster, series, split, first_rows)
    columns = [series.input_columns.index(c) for c in spec.input_columns]
    values, row_series, times = series.values[:, columns], series.row_series, series.frame.index
    scaler = forecaster.scaler.with_unknown(series.ids, values, row_series, split.train_mask(len(values)))
    network = forecaster.network_values(values, times, row_series, scaler)
    # (rows - L - A + 1, C, L + A) -> (rows - L - A + 1, L + A, C): A rows past the lookback, with covariates
    # known in advance
    length = spec.lookback + spec.ahead
    views = np.lib.stride_tricks.sliding_window_view(network, length, axis=0).transpose(0, 2, 1)
    inputs = views[first_rows - spec.lookback]
    windows = Windows(
        targets=series.frame[series.target_columns].to_numpy(dtype=np.float64),
        first=split.first,
        insample_end=split.val_end,
        first_rows=first_rows,
        series=row_series[first_rows],
        ids=series.ids,
        id_column=series.series_column or "series",
        times=times,
    )
    steps = first_rows[:, None] + np.arange(spec.horizon)[None, :]
    cycle = None
    if forecaster.cycle is not None:  # the cycle at each window's target rows, (N, T, k)
        of_steps = np.repeat(forecaster.cycle_series(scaler, windows.series), spec.horizon)
        targets = slice(-len(spec.target_columns), None)
        cycle = forecaster.cycle.at(times[steps.reshape(-1)], targets, of_steps)
        cycle = cycle.reshape(len(first_rows), spec.horizon, -1)
    static = forecaster.static_codes(series.statics, series.source)
    static = None if static is None else static[windows.series]
    pred = forecaster.forecast_inputs(inputs, windows.series, scaler, cycle, static)
    bands = forecaster.bands(pred, inputs, windows.series, scaler)
    units = prepared.scaler.units(slice(-len(series.target_columns), None), windows.series)
    return scored(windows, pred, units, bands, spec.horizon, spec.period)


def _check_comparable(forecaster: Forecaster, series: SeriesTable, split: Split, first_rows) -> None:
    spec = forecaster.spec
    if spec.target_columns != series.target_columns or spec.horizon != split.horizon:
        raise IncomparableModelError(
            f"the model forecasts {spec.target_columns} over {spec.horizon} steps; this test split needs"
            f" {series.target_columns} over {split.horizon}"
        )
    if forecaster.cycle is not None and (spec.timezone is None) != (series.frame.index.tz is None):
        raise IncomparableModelError(
            "its cycle was fitted on stamps with UTC offsets and this series has none, or the reverse"
        )
    missing = [c for c in spec.input_columns if c not in series.input_columns]
    if missing:
        raise IncomparableModelError(f"the model needs columns {missing}")
    given = [] if series.statics is None else list(series.statics.columns)
    if [c for c in spec.static_columns if c not in given]:
        raise IncomparableModelError(f"the model needs static columns {spec.static_columns}")
    if (first_rows - spec.lookback < series.offsets[series.row_series[first_rows]]).any():
        raise IncomparableModelError(
            f"the model reads {spec.lookback} rows, more than a series has before its test"
        )


# what the model must beat on the test windows: (baseline, its prefix, the measure, its key, decimals)
_SHORTFALLS = (
    ("persistence", "naive_", "MSE", "mse_scaled", 4),
    ("seasonal naive", "seasonal_naive_", "MSE", "mse_scaled", 4),
    ("seasonal naive", "seasonal_naive_", "sMAPE", "smape", 2),
    ("seasonal naive", "seasonal_naive_", "MASE", "mase", 4),
)


def baseline_shortfalls(metrics: dict[str, float], measure: str = "test {}") -> list[str]:
    """One line per naive baseline the model does not beat on the test windows: persistence and seasonal
    naive on the scaled MSE, seasonal naive on sMAPE and MASE where they are in `metrics`. `measure` words
    the measure's name ("mean test {} over the folds")."""
    lines = []
    for baseline, prefix, name, key, decimals in _SHORTFALLS:
        if f"test_{key}" not in metrics or f"{prefix}test_{key}" not in metrics:
            continue
        model, other = metrics[f"test_{key}"], metrics[f"{prefix}test_{key}"]
        if not model < other:
            shown = measure.format(name)
            lines.append(
                f"the model does not beat {baseline}: {shown} {model:.{decimals}f} vs {other:.{decimals}f}"
            )
    return lines


def promotion_decision(
    challenger: float,
    naive: float,
    seasonal_naive: float,
    champion: float | None,
    measure: str = "test MSE",
    coverage_miss: str | None = None,
) -> tuple[bool, str]:
    """Promote only a model that beats persistence, seasonal naive AND the current champion, all scored on
    the same windows with the same measure, lower winning (`measure` names it: the test MSE or MASE, or a
    mean over backtest folds), and whose intervals are not off nominal (`coverage_miss` says how they are)."""
    for baseline, score in (("persistence", naive), ("seasonal naive", seasonal_naive)):
        if not challenger < score:
            return False, f"{measure} {challenger:.4f} does not beat {baseline} {score:.4f}"
    if champion is not None and not challenger < champion:
        return False, f"{measure} {challenger:.4f} does not beat the champion's {champion:.4f}"
    if coverage_miss is not None:
        return False, coverage_miss
    against = "no champion yet" if champion is None else f"champion {champion:.4f}"
    return True, (
        f"{measure} {challenger:.4f} beats persistence {naive:.4f}, seasonal naive {seasonal_naive:.4f}"
        f" and {against}"
    )
