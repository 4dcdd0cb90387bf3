"""One scaler per series of a panel, fitted on that series' train rows only; the state is plain JSON.

The same kinds as `bilstm.scaling` (standard, minmax, robust, with scikit-learn's conventions: population
std, a zero spread scaled by 1), computed for all series at once with a pandas group-by, so fitting and
scaling never loop over series in Python. A series the scalers never saw (at forecast time) is scaled by
its own history: `fit_unknown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bilstm.scaling import Scaler


@dataclass
class SeriesScalers:
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
        row_series: np.ndarray,
        ids: np.ndarray,
        rows: np.ndarray | None = None,
    ) -> SeriesScalers:
        """Fit on the (rows, C) values whose series numbers are `row_series`, only the rows where the mask
        `rows` is true (all by default; every series must keep some)."""
        Scaler(kind)  # the same kinds, and the same error for an unknown one
        series = row_series if rows is None else row_series[rows]
        center, scale = np.empty((len(ids), values.shape[1])), np.empty((len(ids), values.shape[1]))
        for j in range(values.shape[1]):  # a column at a time: no copy of the whole table
            groups = pd.Series(values[:, j] if rows is None else values[rows, j]).groupby(series)
            if kind == "standard":
                center[:, j], scale[:, j] = groups.mean(), groups.std(ddof=0)
            elif kind == "minmax":
                low, high = groups.min().to_numpy(), groups.max().to_numpy()
                center[:, j], scale[:, j] = low, high - low
            else:
                center[:, j] = groups.median()
                scale[:, j] = groups.quantile(0.75).to_numpy() - groups.quantile(0.25).to_numpy()
        return cls(kind, np.asarray(ids, dtype=object), center, np.where(scale > 0, scale, 1.0))

    def transform(
        self, values: np.ndarray, row_series: np.ndarray, columns=slice(None), dtype=np.float64
    ) -> np.ndarray:
        """Scale (rows, k) values of `columns`, row r belonging to series row_series[r], into `dtype`."""
        scaled = np.empty(values.shape, dtype=dtype)
        for j, column in enumerate(np.arange(self.center.shape[1])[columns]):
            # a column at a time: the temporaries are (rows,), not (rows, k), on tables of millions of rows
            scaled[:, j] = (values[:, j] - self.center[row_series, column]) / self.scale[row_series, column]
        return scaled

    def inverse_transform(self, values: np.ndarray, series: np.ndarray, columns=slice(None)) -> np.ndarray:
        """Undo `transform` on (N, ..., k) values of `columns`, item n belonging to series series[n]."""
        shape = (len(series),) + (1,) * (values.ndim - 2) + (-1,)
        center = self.center[series][:, columns].reshape(shape)
        scale = self.scale[series][:, columns].reshape(shape)
        return values * scale + center

    def units(self, series: np.ndarray, columns=slice(None)) -> np.ndarray:
        """(N, k) original units per scaled unit of `columns` for the series of N items."""
        return self.scale[series][:, columns]

    def numbers(self, ids: np.ndarray) -> np.ndarray:
        """The series number of each id; -1 for an id the scalers were not fitted on."""
        known = pd.Index(self.ids)
        return known.get_indexer(pd.Index(np.asarray(ids, dtype=str)))

    def with_unknown(
        self, ids: np.ndarray, values: np.ndarray, row_series: np.ndarray, rows: np.ndarray | None = None
    ) -> SeriesScalers:
        """Scalers for `ids`: the fitted ones where known, else fitted on that series' rows of `values`
        (those where the mask `rows` is true)."""
        numbers = self.numbers(ids)
        own = SeriesScalers.fit(self.kind, values, row_series, ids, rows)
        known = numbers >= 0
        center, scale = own.center.copy(), own.scale.copy()
        center[known], scale[known] = self.center[numbers[known]], self.scale[numbers[known]]
        return SeriesScalers(self.kind, np.asarray(ids, dtype=object), center, scale)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ids": [str(i) for i in self.ids],
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SeriesScalers:
        return cls(
            data["kind"],
            np.asarray(data["ids"], dtype=object),
            np.asarray(data["center"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
        )
