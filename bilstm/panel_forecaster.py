"""The forecaster of many series: one network across all series, a scaler per series, a long table in and out.

Saved as the same kind of bundle as `bilstm.forecaster.Forecaster` (whose `load` hands a bundle with a
series column to this class). `predict` takes a long history (series column, time column, input columns) and
returns, per series, the `horizon` steps after that series' last stamp. A series the model was not trained
on is scaled by its own history (its last `lookback` rows need only be there); a series with fewer rows is
named in an error, or left out with a warning where `skip_short` is given.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from bilstm.calendar_steps import future_stamps
from bilstm.errors import ForecastInputError
from bilstm.intervals import ConformalIntervals, level_name
from bilstm.messages import names, sample
from bilstm.model import BiLSTMNet
from bilstm.nonnegative import floor, floor_bands, floor_mask
from bilstm.scaling import Scaler
from bilstm.stamps import offsets, to_utc
from bilstm.training import predict

if TYPE_CHECKING:
    from bilstm.forecaster import WindowSpec


PANEL_FORMAT_VERSION = 5  # after one series' 4: a series column and a scaler per series


@dataclass
class PanelForecaster:
    model: BiLSTMNet
    scalers: Scaler
    spec: WindowSpec  # with `series_column` set
    intervals: ConformalIntervals | None = None
    cycle: None = None  # many-series models remove no cycle; the attribute keeps the training code uniform
    nonnegative: list[str] = field(default_factory=list)  # targets floored at 0; none in older bundles

    @property
    def _targets(self) -> slice:
        return slice(-len(self.spec.target_columns), None)

    @property
    def _floored(self) -> np.ndarray:
        return floor_mask(self.spec.target_columns, self.nonnegative)

    def forecast_inputs(
        self, inputs: np.ndarray, series: np.ndarray, scalers: Scaler | None = None
    ) -> np.ndarray:
        """(N, T, k) original-unit forecasts of (N, L, C) scaled inputs, window n of series `series[n]` of
        `scalers` (the forecaster's own by default); the `nonnegative` targets floored at 0."""
        scalers = scalers or self.scalers
        spec = self.spec
        # a series embedding knows the series by their number in training; -1: not seen there
        known = self.scalers.numbers(scalers.ids)[series]
        outputs = predict(self.model, inputs, known).numpy().reshape(len(inputs), spec.horizon, -1)
        return floor(scalers.inverse_transform(outputs, self._targets, series), self._floored)

    def bands(
        self, point: np.ndarray, inputs: np.ndarray, series: np.ndarray, scalers: Scaler | None = None
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """{level: (lo, hi)} around (N, T, k) forecasts, each window in its own series' units, floored at 0 as
        the forecasts are."""
        if self.intervals is None:
            return {}
        units = (scalers or self.scalers).units(self._targets, series)[:, None, :]
        return floor_bands(self.intervals.bands(point, units, inputs), self._floored)

    def predict(self, history: pd.DataFrame, skip_short: bool = False) -> pd.DataFrame:
        """Forecast the `horizon` steps after each series' last row of the long table `history`.

        Returns:
            Long DataFrame: the series column, the time column, `step` (1..T), one column per target and,
            where the forecaster has intervals, `<target>_lo_<level>` / `<target>_hi_<level>` per level.
        """
        spec = self.spec
        ids, times, values = self.history_arrays(history)
        codes, uniques = pd.factorize(ids, sort=True)
        order = np.lexsort((times.asi8, codes))
        codes, times, values = codes[order], times[order], values[order]
        counts = np.bincount(codes, minlength=len(uniques))
        short = counts < spec.lookback
        if short.any():
            shown = names([str(i) for i in uniques[short]])
            message = (
                f"history has series {shown} with fewer than the {spec.lookback} rows the model reads"
                f" ({', '.join(str(c) for c in counts[short][:3])} rows)"
            )
            if not skip_short or short.all():
                raise ForecastInputError(
                    message + "; give them more rows, or pass --skip-short to leave them out"
                )
            warnings.warn(message + "; left out", stacklevel=2)
        ends = np.cumsum(counts)
        keep = ~short
        starts = (ends - spec.lookback)[keep]
        own = codes  # each row's series number among `uniques`
        scalers = self.scalers.with_unknown(uniques, values, own)
        scaled = scalers.transform(values, series=own, dtype=np.float32)
        windows = np.lib.stride_tricks.sliding_window_view(scaled, spec.lookback, axis=0).transpose(0, 2, 1)
        inputs = windows[starts]
        series = np.flatnonzero(keep)
        point = self.forecast_inputs(inputs, series, scalers)
        bands = self.bands(point, inputs, series, scalers)
        future = future_stamps(times[ends[keep] - 1], spec.horizon, spec.freq, spec.timezone)
        if spec.timezone is not None:
            future = future.tz_convert(spec.timezone)
        frame = {
            spec.series_column: np.repeat(np.asarray(uniques, dtype=object), spec.horizon)[
                np.repeat(keep, spec.horizon)
            ],
            spec.time_column: future,
            "step": np.tile(np.arange(1, spec.horizon + 1), int(keep.sum())),
        }
        for j, target in enumerate(spec.target_columns):
            frame[target] = point[:, :, j].reshape(-1)
            for level, (lo, hi) in bands.items():
                frame[f"{target}_lo_{level_name(level)}"] = lo[:, :, j].reshape(-1)
                frame[f"{target}_hi_{level_name(level)}"] = hi[:, :, j].reshape(-1)
        return pd.DataFrame(frame)

    def history_arrays(self, history: pd.DataFrame) -> tuple[np.ndarray, pd.DatetimeIndex, np.ndarray]:
        """(ids as text, stamps, input columns' values) of the long table `history`, checked; the stamps UTC
        where the model's stamps are zoned."""
        spec = self.spec
        missing = [
            c for c in [spec.series_column, spec.time_column, *spec.input_columns] if c not in history.columns
        ]
        if missing:
            raise ForecastInputError(
                f"history lacks column(s) {', '.join(missing)}; the model reads a long table with"
                f" {spec.series_column}, {spec.time_column} and {', '.join(spec.input_columns)}"
            )
        ids = history[spec.series_column]
        if ids.isna().any():
            raise ForecastInputError(f"history has rows without a series id in {spec.series_column!r}")
        stamps = history[spec.time_column]
        if spec.timezone is not None:
            times = pd.DatetimeIndex(to_utc(stamps, spec.timezone)).as_unit("ns")
        elif offsets(stamps).notna().any():
            raise ForecastInputError(
                f"history stamps in {spec.time_column!r} carry UTC offsets; this model was trained on stamps"
                " without offsets"
            )
        else:
            times = pd.DatetimeIndex(pd.to_datetime(stamps, errors="coerce"))
        times = times.as_unit("ns")
        if times.isna().any():
            raise ForecastInputError(f"history has unparseable timestamps in {spec.time_column!r}")
        values = history[spec.input_columns].to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            bad = ids[~np.isfinite(values).all(axis=1)].iloc[0]
            raise ForecastInputError(f"history has NaN or inf values (series {sample(bad)}); fill them first")
        return ids.astype(str).to_numpy(), times, values

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": PANEL_FORMAT_VERSION,
            "spec": asdict(self.spec),
            "model_config": self.model.config.model_dump(),
            "scaler": self.scalers.to_json(),
            "cycle": None,
            "intervals": None if self.intervals is None else self.intervals.to_json(),
            "nonnegative": self.nonnegative,
        }
        (directory / "forecaster.json").write_text(json.dumps(meta, indent=2))
        torch.save({k: v.cpu() for k, v in self.model.state_dict().items()}, directory / "weights.pt")
        return directory
