"""Scaling as fit / transform / inverse, with a state that is plain JSON (never pickled).

Wraps scikit-learn's StandardScaler, MinMaxScaler and RobustScaler; fit on the train rows only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
# The fitted attributes each scaler needs for transform / inverse_transform.
_STATE = {
    "standard": ("mean_", "scale_", "var_", "n_features_in_", "n_samples_seen_"),
    "minmax": (
        "min_",
        "scale_",
        "data_min_",
        "data_max_",
        "data_range_",
        "n_features_in_",
        "n_samples_seen_",
    ),
    "robust": ("center_", "scale_", "n_features_in_"),
}


class Scaler:
    """A fitted scikit-learn scaler over the columns of a series, serialisable to JSON."""

    def __init__(self, kind: str = "standard") -> None:
        if kind not in _SCALERS:
            raise ValueError(f"unknown scaler {kind!r}; choose one of {', '.join(_SCALERS)}")
        self.kind = kind
        self._scaler = _SCALERS[kind]()

    def fit(self, values: np.ndarray) -> Scaler:
        """Fit on (rows, columns) train values. Constant columns get scale 1 (scikit-learn's rule)."""
        self._scaler.fit(values)
        return self

    def transform(self, values: np.ndarray, columns: slice | list[int] | None = None) -> np.ndarray:
        """Scale (..., k) values that hold `columns` of the fitted series (all by default)."""
        center, scale = self._affine(columns)
        return (np.asarray(values, dtype=np.float64) - center) / scale

    def inverse_transform(self, values: np.ndarray, columns: slice | list[int] | None = None) -> np.ndarray:
        """Undo `transform` of (..., k) values that hold `columns` of the fitted series."""
        center, scale = self._affine(columns)
        return np.asarray(values, dtype=np.float64) * scale + center

    def units(self, columns: slice | list[int] | None = None) -> np.ndarray:
        """Original units per scaled unit of `columns`: a scaled difference times this is an original one."""
        return np.asarray(self._affine(columns)[1], dtype=np.float64)

    def _affine(self, columns: slice | list[int] | None) -> tuple[np.ndarray, np.ndarray]:
        """(center, scale) of `columns` such that original = scaled * scale + center."""
        s = self._scaler
        if self.kind == "standard":
            center, scale = s.mean_, s.scale_
        elif self.kind == "minmax":
            center, scale = -s.min_ / s.scale_, 1.0 / s.scale_
        else:
            center, scale = s.center_, s.scale_
        if columns is None:
            return center, scale
        return center[columns], scale[columns]

    def to_json(self) -> dict[str, Any]:
        state = {}
        for name in _STATE[self.kind]:
            value = getattr(self._scaler, name)
            state[name] = value.tolist() if isinstance(value, np.ndarray) else int(value)
        return {"kind": self.kind, "params": self._scaler.get_params(), "state": state}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scaler:
        scaler = cls(data["kind"])
        scaler._scaler.set_params(**data["params"])
        for name, value in data["state"].items():
            setattr(scaler._scaler, name, np.asarray(value) if isinstance(value, list) else value)
        return scaler
