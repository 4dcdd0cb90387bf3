"""Static covariates (`data.static`): attributes constant within a series (a store's region, a meter's size).

`read_statics` takes one value per series from a long table and refuses a column that varies within a series
or has empty cells; an all-numeric column is numeric, any other categorical. `StaticEncoding` is what the
network reads of them: numerics standardised over the training series, categories as their number in the
training vocabulary (-1: unknown, which the network reads as the mean embedding); it serialises to JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bilstm.errors import DataValidationError
from bilstm.messages import in_series, names, rows, sample


def read_statics(
    table: pd.DataFrame,
    columns: list[str],
    codes: np.ndarray,
    ids: np.ndarray,
    where: str,
    error: type[Exception] = DataValidationError,
) -> pd.DataFrame:
    """(S, len(columns)) the value of each static column for each series of a long table, rows in the order
    of `ids`: floats for an all-numeric column, text otherwise.

    Args:
        table: the file's rows; `codes` (rows,) the series number of each, an index into `ids`.
        where: the source named in messages (the file, or 'history').
        error: the error raised for a missing column, an empty cell or a value that varies within a series.
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise error(
            f"{where}: static column(s) {names(missing)} not found; available: {names(table.columns)}; a"
            " static column holds each series' attribute on every row (or drop it from --static)"
        )
    per_series = {}
    for column in columns:
        cells = table[column]
        empty = cells.isna().to_numpy()
        if empty.any():
            raise error(
                f"{where}: static column {sample(column)} is empty in {rows(empty)}"
                f"{in_series(pd.Series(ids[codes]), empty)}; give every row its series' value"
            )
        numbers = pd.to_numeric(cells, errors="coerce")
        values = numbers.astype(np.float64) if numbers.notna().all() else cells.astype(str)
        first = values.groupby(codes).transform("first")
        differs = (values != first).to_numpy()
        if differs.any():
            row = int(np.flatnonzero(differs)[0])
            series = codes[row]
            start = int(np.flatnonzero(codes == series)[0])
            raise error(
                f"{where}: column {sample(column)} varies within series {sample(str(ids[series]))} (file rows"
                f" {start + 1} and {row + 1}: {sample(cells.iloc[start])}, {sample(cells.iloc[row])});"
                " a static column holds one value per series"
            )
        per_series[column] = values.groupby(codes).first().reindex(range(len(ids))).to_numpy()
    return pd.DataFrame(per_series, index=pd.Index(np.asarray(ids, dtype=object)))


@dataclass
class StaticEncoding:
    """How the network reads the static columns: numeric ones as (value - mean) / std, with the mean and std
    over the training series; categorical ones as the number of the value in `categories` (-1 unknown)."""

    columns: list[str]
    numeric: dict[str, tuple[float, float]]  # column -> (mean, std) over the training series
    categories: dict[str, list[str]]  # column -> its values in the training series, sorted

    @classmethod
    def fit(cls, statics: pd.DataFrame) -> StaticEncoding:
        """The encoding of the training series' static values (`read_statics`)."""
        numeric, categories = {}, {}
        for column in statics.columns:
            values = statics[column]
            if pd.api.types.is_numeric_dtype(values):
                std = float(values.std(ddof=0))
                # one series, or all alike: nothing to scale by, the values read as 0
                numeric[column] = (float(values.mean()), std if std > 0 else 1.0)
            else:
                categories[column] = sorted(values.astype(str).unique())
        return cls(list(statics.columns), numeric, categories)

    @property
    def sizes(self) -> list[int]:
        """Per column: 0 for a numeric one, the number of categories for a categorical one (`BiLSTMNet`)."""
        return [len(self.categories[c]) if c in self.categories else 0 for c in self.columns]

    def encode(
        self, statics: pd.DataFrame, where: str = "data", error: type[Exception] = DataValidationError
    ) -> np.ndarray:
        """(S, D) float32 what the network reads of per-series static values: categories as their numbers; a
        numeric column holding text is an `error`."""
        encoded = np.empty((len(statics), len(self.columns)), dtype=np.float32)
        for j, column in enumerate(self.columns):
            values = statics[column]
            if column in self.categories:
                text = values.astype(str) if not pd.api.types.is_float_dtype(values) else _as_text(values)
                encoded[:, j] = pd.Index(self.categories[column]).get_indexer(text)
                continue
            if not pd.api.types.is_numeric_dtype(values):
                raise error(
                    f"{where}: static column {sample(column)} is numeric in the model, but holds"
                    f" {sample(values.iloc[0])}; give each series its number"
                )
            mean, std = self.numeric[column]
            encoded[:, j] = (values.to_numpy(np.float64) - mean) / std
        return encoded

    def to_json(self) -> dict:
        return {"columns": self.columns, "numeric": self.numeric, "categories": self.categories}

    @classmethod
    def from_json(cls, data: dict) -> StaticEncoding:
        numeric = {c: (float(m), float(s)) for c, (m, s) in data["numeric"].items()}
        return cls(list(data["columns"]), numeric, dict(data["categories"]))


def _as_text(values: pd.Series) -> pd.Series:
    """Numbers of a column that was categorical in training, as text the way a file spells whole numbers."""
    return values.map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
