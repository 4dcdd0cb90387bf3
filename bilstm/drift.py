"""Input drift for the monitor: each input column of the monitored rows against the model's train rows, by
the population stability index (PSI) over the train rows' deciles plus a bin below their minimum and one
above their maximum; a column's threshold is the largest PSI of any stretch of as many rows of the model's
held-out rows (validation and test), at least `PSI_FLOOR`.

A week of hourly data is narrow beside a year of train rows (a summer week sits in the top deciles), so a
fixed threshold such as the usual 0.25 would fire on clean data every week; the held-out rows say how far
a stretch of that length strays when nothing is wrong. Values beyond the train range land in the outer bins,
which the train rows leave empty: data outside anything trained on scores higher than any in-range stretch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DECILES = 10
BINS = DECILES + 2  # below the train minimum, the deciles, above the train maximum
EPSILON = 1e-4  # the share an empty bin counts as (PSI's usual floor; ln(0) is not a number)
PSI_FLOOR = 0.25  # the usual "major shift": no threshold is lower
_CODES = "0123456789ab"  # one character per bin, to keep the held-out rows' bins small in JSON


def psi(shares: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """PSI of (..., BINS) bin shares against (BINS,) reference shares: sum of (p - q) ln(p / q)."""
    p, q = np.maximum(shares, EPSILON), np.maximum(reference, EPSILON)
    return ((p - q) * np.log(p / q)).sum(axis=-1)


@dataclass
class ColumnReference:
    """One column's train rows as bins, and the bin of each held-out row in time order."""

    edges: np.ndarray  # (DECILES + 1,): the train minimum, the 9 inner deciles, the train maximum
    train_shares: np.ndarray  # (BINS,)
    heldout_bins: np.ndarray  # (n,) int, the bin of each held-out row

    @classmethod
    def fit(cls, train: np.ndarray, heldout: np.ndarray) -> ColumnReference:
        inner = np.quantile(train, np.linspace(0, 1, DECILES + 1)[1:-1])
        edges = np.concatenate([[train.min()], inner, [train.max()]])
        shares = np.bincount(_bins(edges, train), minlength=BINS) / len(train)
        return cls(edges, shares, _bins(edges, heldout))

    def psi(self, values: np.ndarray) -> float:
        return float(
            psi(np.bincount(_bins(self.edges, values), minlength=BINS) / len(values), self.train_shares)
        )

    def threshold(self, rows: int) -> float:
        """The largest PSI of any `rows` consecutive held-out rows (all of them if fewer), at least
        `PSI_FLOOR`."""
        rows = min(rows, len(self.heldout_bins))
        # counts per bin of every stretch of `rows` rows, from cumulative counts: (n - rows + 1, BINS)
        onehot = np.zeros((len(self.heldout_bins) + 1, BINS))
        onehot[np.arange(1, len(self.heldout_bins) + 1), self.heldout_bins] = 1
        cumulative = onehot.cumsum(axis=0)
        shares = (cumulative[rows:] - cumulative[:-rows]) / rows
        return max(PSI_FLOOR, float(psi(shares, self.train_shares).max()))


def _bins(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """0 below the train minimum, 1..DECILES between the edges (the maximum itself in the last decile),
    BINS - 1 above the train maximum."""
    values = np.asarray(values, dtype=np.float64)
    bins = np.searchsorted(edges, values, side="right")
    return np.where(values == edges[-1], DECILES, bins)


@dataclass
class DriftReference:
    """Per input column, the train rows' bins and the held-out rows' bins for `psi` and `thresholds`."""

    columns: dict[str, ColumnReference]

    @classmethod
    def fit(cls, train: pd.DataFrame, heldout: pd.DataFrame) -> DriftReference:
        """From the (rows, columns) train rows and held-out rows of the model's input columns."""
        return cls(
            {c: ColumnReference.fit(train[c].to_numpy(float), heldout[c].to_numpy(float)) for c in train}
        )

    def psi(self, rows: pd.DataFrame) -> dict[str, float]:
        """PSI per column of the monitored rows against the train rows."""
        return {name: column.psi(rows[name].to_numpy(float)) for name, column in self.columns.items()}

    def thresholds(self, rows: int) -> dict[str, float]:
        """Per column, the PSI above which a stretch of `rows` rows counts as drifted."""
        return {name: column.threshold(rows) for name, column in self.columns.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "bins": "train min, 9 inner train deciles, train max (edges); shares per bin",
            "columns": {
                name: {
                    "edges": column.edges.tolist(),
                    "train_shares": column.train_shares.tolist(),
                    "heldout_bins": "".join(_CODES[b] for b in column.heldout_bins),
                }
                for name, column in self.columns.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DriftReference:
        return cls(
            {
                name: ColumnReference(
                    np.asarray(column["edges"], dtype=np.float64),
                    np.asarray(column["train_shares"], dtype=np.float64),
                    np.array([_CODES.index(code) for code in column["heldout_bins"]], dtype=np.int64),
                )
                for name, column in data["columns"].items()
            }
        )
