"""Scaling as fit / transform / inverse, per series, with a state that is plain JSON (never pickled).

One `Scaler` for one series or many: a center and a scale per series and column, fitted on each series'
train rows only (or, `per_series` off, on every series' train rows together), with scikit-learn's
conventions (standard: population std; minmax; robust: median and interquartile range; a zero spread
scaled by 1) and mean scaling (divided by the mean absolute value, nothing subtracted, as DeepAR does),
computed with a pandas group-by, so fitting never loops over series in Python. A series
never seen in fitting (at forecast time) is scaled by its own history: `with_unknown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("standard", "minmax", "robust", "mean")
ONE_SERIES = np.array(["series"], dtype=object)  # the id of the one series of a file without a series column


@dataclass
class Scaler:
    """original = scaled * scale[s] + center[s] for series s; center, scale (S, C)."""

    kind: str
    ids: np.ndarray  # (S,) text ids
    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(
        cls,
        kind: str,
        values: np.ndarray,
        row_series: np.ndarray | None = None,
        ids: np.ndarray = ONE_SERIES,
        rows: np.ndarray | None = None,
        per_series: bool = True,
    ) -> Scaler:
        """Fit on the (rows, C) values whose series numbers are `row_series` (None: all of one series), only
        the rows where the mask `rows` is true (all by default; every series must keep some); `per_series`
        off: one center and scale for all series, from all of those rows."""
        if kind not in KINDS:
            raise ValueError(f"unknown scaler {kind!r}; choose one of {', '.join(KINDS)}")
        series = np.zeros(len(values), dtype=np.int64) if row_series is None or not per_series else row_series
        series = series if rows is None else series[rows]
        count = len(ids) if per_series else 1
        center, scale = np.empty((count, values.shape[1])), np.empty((count, values.shape[1]))
        for j in range(values.shape[1]):  # a column at a time: no copy of the whole table
            column = values[:, j] if rows is None else values[rows, j]
            groups = pd.Series(np.abs(column) if kind == "mean" else column).groupby(series)
            if kind == "standard":
                center[:, j], scale[:, j] = groups.mean(), groups.std(ddof=0)
            elif kind == "minmax":
                low, high = groups.min().to_numpy(), groups.max().to_numpy()
                center[:, j], scale[:, j] = low, high - low
            elif kind == "mean":  # a scale only (the mean absolute value): positive values stay positive
                center[:, j], scale[:, j] = 0.0, groups.mean()
            else:
                center[:, j] = groups.median()
                scale[:, j] = groups.quantile(0.75).to_numpy() - groups.quantile(0.25).to_numpy()
        scale = np.where(scale > 0, scale, 1.0)
        if not per_series:
            center, scale = np.repeat(center, len(ids), 0), np.repeat(scale, len(ids), 0)
        return cls(kind, np.asarray(ids, dtype=object), center, scale)

    def _affine(self, columns, series: np.ndarray | None, ndim: int) -> tuple[np.ndarray, np.ndarray]:
        """(center, scale) of `columns`, shaped to broadcast over (N, ..., k) values of the series `series`
        (N,), or over values of any shape of the one series where `series` is None."""
        if series is None:
            return self.center[0, columns], self.scale[0, columns]
        shape = (len(series),) + (1,) * (ndim - 2) + (-1,)
        return self.center[series][:, columns].reshape(shape), self.scale[series][:, columns].reshape(shape)

    def transform(
        self, values: np.ndarray, columns=slice(None), series: np.ndarray | None = None, dtype=np.float64
    ) -> np.ndarray:
        """Scale (N, ..., k) values of `columns`, item n of series series[n] (None: all of the first), into
        `dtype`."""
        values = np.asarray(values, dtype=np.float64)
        center, scale = self._affine(columns, series, values.ndim)
        scaled = np.empty(values.shape, dtype=dtype)
        for j in range(values.shape[-1]):
            # a column at a time: the temporaries are (rows,), not (rows, k), on tables of millions of rows
            scaled[..., j] = (values[..., j] - center[..., j]) / scale[..., j]
        return scaled

    def inverse_transform(
        self, values: np.ndarray, columns=slice(None), series: np.ndarray | None = None
    ) -> np.ndarray:
        """Undo `transform` on (N, ..., k) values of `columns`, item n of series series[n]."""
        center, scale = self._affine(columns, series, np.ndim(values))
        return np.asarray(values, dtype=np.float64) * scale + center

    def units(self, columns=slice(None), series: np.ndarray | None = None) -> np.ndarray:
        """Original units per scaled unit of `columns`: (k,) of the first series, or (N, k) of `series`."""
        return self.scale[0, columns] if series is None else self.scale[series][:, columns]

    def numbers(self, ids: np.ndarray) -> np.ndarray:
        """The series number of each id; -1 for an id the scaler was not fitted on."""
        return pd.Index(self.ids).get_indexer(pd.Index(np.asarray(ids, dtype=str)))

    def with_unknown(
        self, ids: np.ndarray, values: np.ndarray, row_series: np.ndarray, rows: np.ndarray | None = None
    ) -> Scaler:
        """A scaler of `ids`: the fitted centers and scales where known, else fitted on that series' rows of
        `values` (those where the mask `rows` is true)."""
        numbers = self.numbers(ids)
        own = Scaler.fit(self.kind, values, row_series, ids, rows)
        known = numbers >= 0
        own.center[known], own.scale[known] = self.center[numbers[known]], self.scale[numbers[known]]
        return own

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ids": [str(i) for i in self.ids],
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scaler:
        """The scaler of a JSON state, also of bundles before format 6 (one series' scikit-learn state)."""
        if "state" in data:
            center, scale = _sklearn_affine(data["kind"], data["state"])
            return cls(data["kind"], ONE_SERIES, center[None], scale[None])
        return cls(
            data["kind"],
            np.asarray(data["ids"], dtype=object),
            np.asarray(data["center"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
        )


def _sklearn_affine(kind: str, state: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(center, scale) of a fitted scikit-learn scaler's attributes, as bundles before format 6 kept them."""
    if kind == "standard":
        return np.asarray(state["mean_"]), np.asarray(state["scale_"])
    if kind == "minmax":
        factor = np.asarray(state["scale_"])
        return -np.asarray(state["min_"]) / factor, 1.0 / factor
    return np.asarray(state["center_"]), np.asarray(state["scale_"])
