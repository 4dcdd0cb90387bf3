"""Recorded forecasts: what one forecast issued, as a long table with a row per target and step, which the
forecast flow logs with its MLflow run and the monitor reads back once the targets' actual values arrived.

Columns: `model_name`, `model_version`, `issue_time` (the last timestamp of the history it forecast from,
per series), `series` (the data set's name), `series_id` (for a model of many series), `step`,
`target_time`, `target`, `value`, and `lo_<level>` / `hi_<level>` per interval level where the forecaster
has intervals, and `future_<column>`, the value of each future column the forecast read at the target time,
for a model with covariates known in advance. Stamps are ISO text in the data's zone, as the forecast file
writes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bilstm.history import history_arrays, history_ids, history_stamps, shown_stamps
from bilstm.scaling import ONE_SERIES
from bilstm.window_spec import WindowSpec

COLUMNS = ["model_name", "model_version", "issue_time", "series", "step", "target_time", "target", "value"]


def record(
    forecast: pd.DataFrame,
    spec: WindowSpec,
    model: tuple[str, str],
    issue_times: dict[str, str],
    series: str,
    future: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The long table of one `Forecaster.predict` table issued at `issue_times` (per series id,
    `last_stamps`) by `model` (name, version), from the `future` table of the covariates known in advance
    that it read."""
    ids = None if spec.series_column is None else forecast[spec.series_column].astype(str).to_numpy()
    keys = np.repeat(ONE_SERIES, len(forecast)) if ids is None else ids
    issue_time = pd.Series(keys).map(issue_times).to_numpy()
    parts = []
    for target in spec.target_columns:
        bands = [c for c in forecast.columns if c.startswith((f"{target}_lo_", f"{target}_hi_"))]
        part = pd.DataFrame(
            {
                "model_name": model[0],
                "model_version": model[1],
                "issue_time": issue_time,
                "series": series,
                "step": forecast["step"].to_numpy(),
                "target_time": forecast[spec.time_column].astype(str).to_numpy(),
                "target": target,
                "value": forecast[target].to_numpy(),
            }
        )
        if ids is not None:
            part.insert(4, "series_id", ids)
        part = part.assign(**{c.removeprefix(f"{target}_"): forecast[c].to_numpy() for c in bands})
        parts.append(part.assign(**_future_used(spec, future, keys, part["target_time"])))
    return pd.concat(parts, ignore_index=True)


def _future_used(
    spec: WindowSpec, future: pd.DataFrame | None, keys: np.ndarray, target_times: pd.Series
) -> dict[str, np.ndarray]:
    """`future_<column>` -> the future table's value at each (series, target time); none without one."""
    if future is None or not spec.future_columns:
        return {}
    shown = shown_stamps(spec, history_stamps(spec, future[spec.time_column]))
    given = pd.DataFrame(future[spec.future_columns].to_numpy(), columns=spec.future_columns)
    given.index = pd.MultiIndex.from_arrays([history_ids(spec, future), shown.astype(str)])
    rows = given.reindex(pd.MultiIndex.from_arrays([keys, target_times.to_numpy()]))
    return {f"future_{column}": rows[column].to_numpy() for column in spec.future_columns}


def last_stamps(spec: WindowSpec, history: pd.DataFrame) -> dict[str, str]:
    """Series id -> the last stamp of that series in `history` (as `Forecaster.predict` takes it), as text
    in the model's zone."""
    ids, times, _ = history_arrays(spec, history)
    shown = shown_stamps(spec, times)
    last = pd.Series(shown, index=ids).groupby(level=0).max()
    return {str(series_id): str(time) for series_id, time in last.items()}


def stamps(text: pd.Series, spec: WindowSpec) -> pd.DatetimeIndex:
    """Recorded stamps on the time line of the model's series: UTC where it has a zone, else naive."""
    if spec.timezone is not None:
        return pd.DatetimeIndex(pd.to_datetime(text, utc=True))
    return pd.DatetimeIndex(pd.to_datetime(text))


def arrived_windows(
    recorded: pd.DataFrame, spec: WindowSpec, index: pd.DatetimeIndex, first_row: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The recorded forecasts whose every target (all steps, all targets) lies in rows [first_row, end) of
    `index` and whose issue time is a row of it; the newest record of an issue time wins.

    Returns:
        issue rows (m,) and first-target rows (m,) into `index`, in time order, and the recorded (m, T, k)
        arrays: `value` and each band column (`lo_95`, ...).
    """
    targets, horizon = spec.target_columns, spec.horizon
    table = recorded[recorded["target"].isin(targets)].copy()
    table["issue_row"] = index.get_indexer(stamps(table["issue_time"], spec))
    table["target_row"] = index.get_indexer(stamps(table["target_time"], spec))
    table = table.drop_duplicates(["issue_time", "target", "step"], keep="last")
    arrived = (table["target_row"] >= first_row) & (table["issue_row"] >= 0)
    complete = arrived.groupby(table["issue_time"]).transform("sum") == horizon * len(targets)
    table = table[complete & arrived].sort_values(["issue_row", "step"])
    if table.empty:
        return np.zeros(0, int), np.zeros(0, int), {}
    band_columns = [c for c in table.columns if c.startswith(("lo_", "hi_"))]
    arrays = {}
    for column in ["value", *band_columns]:
        # -> (m, T, k): one column per target, issue times and steps in order
        wide = table.pivot(index=["issue_row", "step"], columns="target", values=column)[targets]
        arrays[column] = wide.to_numpy(float).reshape(-1, horizon, len(targets))
    first = table[table["step"] == 1].drop_duplicates("issue_row")
    return first["issue_row"].to_numpy(), first["target_row"].to_numpy(), arrays
