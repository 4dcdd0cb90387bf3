"""Targets that are never negative (counts, sales, prices): which targets a forecaster floors at 0
(`data.nonnegative`), and that floor on its forecasts and their bands.

`auto` floors each target that is a count: whole numbers, none negative, in the train and validation rows
(all the model is fitted and calibrated on). Positive real values (prices, loads) are not floored by auto:
a series that stayed positive so far may still go below 0; `true` floors them. The targets floored are kept
in the bundle, so a saved forecaster floors what it floored in training; bundles from before floor nothing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np


def floored_targets(
    setting: Literal["auto", True, False], known: np.ndarray, targets: list[str]
) -> list[str]:
    """The targets to floor at 0: all (`True`), none (`False`), or (`"auto"`) the counts: those whose
    (rows, k) `known` values (train and validation rows), one column per target, are whole numbers >= 0."""
    if setting == "auto":
        counts = (known >= 0).all(axis=0) & (known == np.round(known)).all(axis=0)
        return [target for target, count in zip(targets, counts, strict=True) if count]
    return list(targets) if setting else []


def floor_mask(targets: list[str], floored: list[str]) -> np.ndarray:
    """(k,) True for each of `targets` that is floored."""
    return np.array([target in floored for target in targets], dtype=bool)


def floor(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(..., k) `values` with the negatives of the `mask`ed targets raised to 0."""
    return np.where(mask & (values < 0), 0.0, values) if mask.any() else values


def floor_bands(
    bands: dict[float, tuple[np.ndarray, np.ndarray]], mask: np.ndarray
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Each band's ends floored as `floor` does; bands stay nested, as the floor keeps order."""
    return {level: (floor(lo, mask), floor(hi, mask)) for level, (lo, hi) in bands.items()}
