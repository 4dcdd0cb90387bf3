"""Rows that share a timestamp (within their series, in a long table), merged into one as `data.duplicates`
says: the first row of the file, the last, or the mean of each used column. With `error`, the default,
`bilstm.stamps` refuses them before anything is merged.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

_HOW = {"first": "keeping the first of each", "last": "keeping the last of each", "mean": "averaging them"}


def merge_duplicates(
    frame: pd.DataFrame, keys: list[np.ndarray], policy: str, source: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row of `frame` per distinct key (the stamp, or the series and the stamp), with a warning saying
    how many rows were merged.

    Args:
        frame: the used columns, a row per file row.
        keys: arrays of `len(frame)` that together say which rows are one (stamps as integers, series codes).
        policy: `data.duplicates`: first, last or mean (error: nothing merged, duplicates were refused).

    Returns:
        The merged frame and the positions in `frame` of the rows it kept, in file order.
    """
    if policy == "error":  # refused already, by `bilstm.stamps`
        return frame, np.arange(len(frame))
    table = pd.DataFrame(dict(enumerate(keys)))
    repeated = table.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return frame, np.arange(len(frame))
    if policy == "mean":
        frame = frame.groupby(keys, sort=False).transform("mean")
    keep = ~table.duplicated(keep="last" if policy == "last" else "first").to_numpy()
    within, merged = " within their series" if len(keys) > 1 else "", (keep & repeated).sum()
    warnings.warn(
        f"{source}: {repeated.sum()} rows share their timestamp{within} with another; merged them into"
        f" {merged} row{'s' if merged > 1 else ''}, {_HOW[policy]} (data.duplicates={policy})",
        stacklevel=3,
    )
    return frame[keep], np.flatnonzero(keep)
