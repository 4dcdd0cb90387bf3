"""The monitor over every series of a table: each series scored on its own newest stretch (its recorded
forecasts where any arrived, else rolling origins), the scores pooled at each window offset for the verdict
over all, and each series held to the band of its own test windows. A model of one series is the table of
one: its pooled scores are its own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from bilstm.data import SeriesTable
from bilstm.forecaster import Forecaster
from bilstm.monitor import Scores, recorded_scores, rolling_scores
from bilstm.promise import Band, Promise, band


def score_series(
    forecaster: Forecaster, table: SeriesTable, first_rows: np.ndarray, recorded: pd.DataFrame | None
) -> list[Scores]:
    """Each series' windows whose targets lie in its rows [first_rows[s], end): its recorded forecasts
    (`recorded`, with a `series_id` column for a model of many) where any arrived, else rolling origins;
    `rows` into the whole table. A series the model was not trained on is scaled by its own rows."""
    scaler = forecaster.scaler.with_unknown(table.ids, table.values, table.row_series)
    statics = forecaster.static_codes(table.statics, table.source)  # (S, D), None without static columns
    by_series = {}  # series id -> its recorded forecasts
    if recorded is not None and table.series_column is None:
        by_series = {str(table.ids[0]): recorded}
    elif recorded is not None:
        by_series = dict(list(recorded.groupby(recorded["series_id"].astype(str), sort=False)))
    scored = []
    for number, series_id in enumerate(table.ids):
        rows = table.rows_of(number)
        frame, first_row = table.frame.iloc[rows], int(first_rows[number])
        scores = None
        if str(series_id) in by_series:
            own = by_series[str(series_id)]
            scores = recorded_scores(forecaster, frame, own, first_row, number, scaler)
        if scores is None:
            static = None if statics is None else statics[number]
            scores = rolling_scores(forecaster, frame, first_row, number, scaler, static)
        scored.append(replace(scores, rows=scores.rows + rows.start))
    return scored


def stretch_rows(table: SeriesTable, first_rows: np.ndarray) -> np.ndarray:
    """The rows of `table` in the monitored stretches: those of each series s from its row first_rows[s]."""
    starts = table.offsets[:-1] + first_rows
    return np.concatenate(
        [np.arange(start, end) for start, end in zip(starts, table.offsets[1:], strict=True)]
    )


def pooled(scored: list[Scores]) -> Scores:
    """The mean over series of the windows at each offset from each series' first one (one series' own
    scores for a model of one); `rows`: the first series' first row plus each offset, a time line to show
    the pooled windows on."""
    if len(scored) == 1:
        return scored[0]
    columns = {"mse": "mse", "naive": "naive_mse", "miss": "miss"}
    frame = pd.concat(
        [
            pd.DataFrame({"offset": s.offsets, **{k: getattr(s, v) for k, v in columns.items()}})
            for s in scored
        ]
    )
    means = frame.groupby("offset")[list(columns)].mean()
    sources = sorted({s.source for s in scored})
    miss = None if any(s.miss is None for s in scored) else means["miss"].to_numpy(float)
    rows = scored[0].rows[0] + means.index.to_numpy()
    return Scores(" and ".join(sources), rows, means["mse"].to_numpy(), means["naive"].to_numpy(), miss)


def series_bands(
    scored: list[Scores], ids: np.ndarray, promise: Promise | None, fallback: Band
) -> pd.DataFrame:
    """One row per series: its windows, realised and persistence MSE, the band of its own test windows at
    the same offsets (`fallback` for all series of a model without a promise; none, NaN, for a series the
    model was not tested on), `ratio` (realised over threshold) and `degraded` (above the threshold)."""
    rows = []
    for scores, series_id in zip(scored, ids, strict=True):
        own = promise.of_series(str(series_id)) if promise is not None else None
        held_to = fallback if promise is None else None if own is None else band(own.mse, scores.offsets)
        expected, threshold = (np.nan, np.nan) if held_to is None else (held_to.expected, held_to.threshold)
        realised = float(scores.mse.mean())
        rows.append(
            {
                "series": str(series_id),
                "windows": len(scores.mse),
                "realised_mse_scaled": realised,
                "persistence_mse_scaled": float(scores.naive_mse.mean()),
                "expected_mse_scaled": expected,
                "threshold_mse_scaled": threshold,
                "ratio": realised / threshold,
                "degraded": bool(realised > threshold),
            }
        )
    return pd.DataFrame(rows)
