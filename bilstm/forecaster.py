"""The forecaster, the product a run registers: the network (`BiLSTMNet`), its scaler and window settings.

Saved as a bundle, a directory of `forecaster.json` and `weights.pt` (a state dict read back with
`torch.load(weights_only=True)`): loading it never unpickles code. Its conformal intervals, where calibrated,
are JSON in `forecaster.json` too, and so are the targets it floors at 0 (`bilstm.nonnegative`).
`Forecaster.predict` turns a history DataFrame into a DataFrame of future timestamps and forecasts in original
units, with their bands where the forecaster has intervals.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bilstm.calendar_steps import future_stamps, seasonal_period
from bilstm.config import CsvConfig, DataConfig, ModelConfig
from bilstm.cycle import Cycle
from bilstm.errors import ForecastInputError
from bilstm.intervals import ConformalIntervals, level_name
from bilstm.model import BiLSTMNet
from bilstm.nonnegative import floor, floor_bands, floor_mask
from bilstm.panel_forecaster import PANEL_FORMAT_VERSION, PanelForecaster
from bilstm.scaling import Scaler
from bilstm.stamps import offsets, to_utc
from bilstm.training import predict
from bilstm.windows import numpy_windows

FORMAT_VERSION = 6  # 2 added the cycle, 3 the time zone, 4 the intervals, 6 the scaler per series
READABLE_VERSIONS = (1, 2, 3, 4, PANEL_FORMAT_VERSION, FORMAT_VERSION)


@dataclass
class WindowSpec:
    """What the network was trained on: columns (features first, targets last), window, frequency, and the
    zone of the data's stamps (None: stamps without offsets), where forecast stamps are shown."""

    time_column: str
    input_columns: list[str]
    target_columns: list[str]
    lookback: int
    horizon: int
    freq: str
    timezone: str | None = None  # '+08:00', 'UTC', 'Europe/Berlin'; bundles before format 3 have none
    series_column: str | None = None  # many series in a long table (format 5); None: one series
    seasonal_period: int | None = None  # steps per season; None (older bundles): the frequency's own
    missing: str = "error"  # data.missing of the training run, which a history is read with too

    @property
    def period(self) -> int:
        return self.seasonal_period or seasonal_period(self.freq)


@dataclass
class Forecaster:
    model: BiLSTMNet
    scaler: Scaler
    spec: WindowSpec
    cycle: Cycle | None = None
    intervals: ConformalIntervals | None = None  # None: calibrated without levels, or bundles before format 4
    nonnegative: list[str] = field(default_factory=list)  # targets floored at 0; none in older bundles

    def bands(
        self, point: np.ndarray, inputs: np.ndarray | None = None
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """{level: (lo, hi)} in original units around (..., T, k) original-unit forecasts; {} without
        intervals. `inputs`: the (..., L, C) network inputs of those forecasts (`input_windows`), which a
        scaled-residuals calibration needs for each window's volatility. Floored at 0 as the forecasts are."""
        if self.intervals is None:
            return {}
        bands = self.intervals.bands(point, self.scaler.units(self._targets), inputs)
        return floor_bands(bands, self._floored)

    def input_windows(self, values: np.ndarray, times: pd.DatetimeIndex | None = None) -> np.ndarray:
        """What the network reads of every window of (rows, C) original values of `spec.input_columns` at
        `times` (needed with a cycle): (rows - L + 1, L, C) scaled values, the cycle removed; window i
        reads rows [i, i + L)."""
        scaled, _ = self._scaled(values, times)
        # (N, C, L) -> (N, L, C)
        return np.lib.stride_tricks.sliding_window_view(scaled, self.spec.lookback, axis=0).transpose(0, 2, 1)

    def forecast_windows(self, values: np.ndarray, times: pd.DatetimeIndex | None = None) -> np.ndarray:
        """Forecasts in original units for every window of (rows, C) original values of
        `spec.input_columns` taken at `times` (needed with a cycle): (rows - L - T + 1, T, k), window i
        reading rows [i, i + L); the `nonnegative` targets floored at 0."""
        lookback, horizon, targets = self.spec.lookback, self.spec.horizon, self._targets
        scaled, cycle = self._scaled(values, times)
        inputs, _ = numpy_windows(scaled, lookback, horizon)
        outputs = predict(self.model, inputs).numpy().reshape(len(inputs), horizon, -1)
        if cycle is not None:
            _, target_cycle = numpy_windows(cycle[:, targets], lookback, horizon)
            outputs = outputs + target_cycle  # the cycle at each window's target rows, (N, T, k)
        return floor(self.scaler.inverse_transform(outputs, targets), self._floored)

    def _scaled(
        self, values: np.ndarray, times: pd.DatetimeIndex | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(rows, C) float32 network values (scaled, the cycle removed) and the cycle at `times` (or None)."""
        scaled, cycle = self.scaler.transform(values), None
        if self.cycle is not None:
            if times is None:
                raise ValueError("this forecaster removes a cycle: pass the times of the rows")
            cycle = self.cycle.at(times)
            scaled = scaled - cycle
        return scaled.astype(np.float32), cycle

    @property
    def _targets(self) -> slice:
        """The target columns among the input columns: the last ones."""
        return slice(-len(self.spec.target_columns), None)

    @property
    def _floored(self) -> np.ndarray:
        return floor_mask(self.spec.target_columns, self.nonnegative)

    def predict(self, history: pd.DataFrame) -> pd.DataFrame:
        """Forecast the `horizon` steps after the last row of `history`.

        Args:
            history: at least `lookback` rows with the time column (or a DatetimeIndex) and every
                input column. For a model trained on stamps with offsets, the stamps may carry any offset
                (datetimes or ISO text); stamps without one are local times in `spec.timezone`.
        Returns:
            DataFrame with the time column (future timestamps, in `spec.timezone` when it is set), `step`
            (1..T) and one column per target, each followed, where the forecaster has intervals, by
            `<target>_lo_<level>` and `<target>_hi_<level>` per level (`<t>_lo_80`, `<t>_hi_80`, `<t>_lo_95`,
            `<t>_hi_95` by default), nested: lo_95 <= lo_80 <= point <= hi_80 <= hi_95.
        """
        times, values = self._history_values(history)
        lookback = self.spec.lookback
        future = future_stamps(times[-1:], self.spec.horizon, self.spec.freq, self.spec.timezone)
        inputs, _ = self._scaled(values[-lookback:], times[-lookback:])  # (L, C), as the network reads it
        output = predict(self.model, inputs[None]).numpy().reshape(self.spec.horizon, -1)
        if self.cycle is not None:
            output = output + self.cycle.at(future, self._targets)
        forecast = floor(self.scaler.inverse_transform(output, self._targets), self._floored)
        frame = self._forecast_frame(forecast, self.bands(forecast, inputs))
        frame.insert(0, "step", np.arange(1, self.spec.horizon + 1))
        shown = future if self.spec.timezone is None else future.tz_convert(self.spec.timezone)
        frame.insert(0, self.spec.time_column, shown)
        return frame

    def _forecast_frame(
        self, forecast: np.ndarray, bands: dict[float, tuple[np.ndarray, np.ndarray]]
    ) -> pd.DataFrame:
        """(T, k) forecasts, a column per target, each followed by `<t>_lo_<l>` and `<t>_hi_<l>` per level."""
        columns = {}
        for j, target in enumerate(self.spec.target_columns):
            columns[target] = forecast[:, j]
            for level, (lo, hi) in bands.items():
                columns[f"{target}_lo_{level_name(level)}"] = lo[:, j]
                columns[f"{target}_hi_{level_name(level)}"] = hi[:, j]
        return pd.DataFrame(columns)

    def _history_values(self, history: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray]:
        spec = self.spec
        if spec.time_column in history.columns:
            stamps = history[spec.time_column]
        elif isinstance(history.index, pd.DatetimeIndex):
            stamps = history.index.to_series(index=history.index)
        else:
            raise ForecastInputError(f"history has no time column {spec.time_column!r} and no DatetimeIndex")
        times = self._times(stamps)
        missing = [c for c in spec.input_columns if c not in history.columns]
        if missing:
            raise ForecastInputError(
                f"history lacks column(s) {', '.join(missing)} that the model was trained on"
                f" ({', '.join(spec.input_columns)})"
            )
        if len(history) < spec.lookback:
            raise ForecastInputError(
                f"history has {len(history)} rows; the model needs the last {spec.lookback}"
            )
        if times[-spec.lookback :].isna().any():
            raise ForecastInputError(f"history has unparseable timestamps in {spec.time_column!r}")
        values = history[spec.input_columns].to_numpy(dtype=np.float64)
        if not np.isfinite(values[-spec.lookback :]).all():
            raise ForecastInputError(
                f"history has NaN or inf in the last {spec.lookback} rows; fill them first"
            )
        return times, values

    def _times(self, stamps: pd.Series) -> pd.DatetimeIndex:
        """The history's stamps on the time line the model was trained on: naive, or UTC."""
        if self.spec.timezone is not None:
            return pd.DatetimeIndex(to_utc(stamps, self.spec.timezone))
        if offsets(stamps).notna().any():
            raise ForecastInputError(
                f"history stamps in {self.spec.time_column!r} carry UTC offsets; this model was trained on"
                " stamps without offsets: pass them as the model was trained (without offsets)"
            )
        return pd.DatetimeIndex(pd.to_datetime(stamps, errors="coerce"))

    def data_config(self, path: str | None, csv: CsvConfig | None = None) -> DataConfig:
        """How to read a history for this model: its time column, features and targets, and its training
        run's policy for missing values; `csv`: the file's separator and decimal mark (empty: sniffed)."""
        targets = self.spec.target_columns
        features = [c for c in self.spec.input_columns if c not in targets]
        # a model trained with setting M has targets == inputs, which setting S reads the same way
        return DataConfig(
            path=path,
            time_column=self.spec.time_column,
            timezone=self.spec.timezone,
            targets=targets,
            features=features,
            setting="MS" if features else "S",
            missing=self.spec.missing,
            csv=csv or CsvConfig(),
        )

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": FORMAT_VERSION,
            "spec": asdict(self.spec),
            "model_config": self.model.config.model_dump(),
            "scaler": self.scaler.to_json(),
            "cycle": None if self.cycle is None else self.cycle.to_json(),
            "intervals": None if self.intervals is None else self.intervals.to_json(),
            "nonnegative": self.nonnegative,
        }
        (directory / "forecaster.json").write_text(json.dumps(meta, indent=2))
        torch.save({k: v.cpu() for k, v in self.model.state_dict().items()}, directory / "weights.pt")
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> Forecaster | PanelForecaster:
        """The forecaster a bundle holds: a `PanelForecaster` where it was trained on many series."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "forecaster.json").read_text())
        except FileNotFoundError:
            raise ForecastInputError(
                f"{directory}: no forecaster.json; this is not a forecaster bundle"
            ) from None
        if meta.get("format_version") not in READABLE_VERSIONS:
            raise ValueError(
                f"{directory}: bundle format {meta.get('format_version')} is not one this release reads"
                f" ({', '.join(map(str, READABLE_VERSIONS))}); install the release that wrote it"
            )
        spec = WindowSpec(**meta["spec"])
        model = BiLSTMNet(
            ModelConfig(**meta["model_config"]),
            len(spec.input_columns),
            len(spec.target_columns),
            spec.horizon,
            spec.lookback,
            len(meta["scaler"]["ids"]) if spec.series_column else 0,  # the series an embedding knows
        )
        state = _weights(directory / "weights.pt", device)
        model.load_state_dict(state)
        cycle = Cycle.from_json(meta["cycle"]) if meta.get("cycle") else None
        intervals = ConformalIntervals.from_json(meta["intervals"]) if meta.get("intervals") else None
        nonnegative = meta.get("nonnegative", [])  # bundles from before flooring floor nothing
        model = model.to(device).eval()
        if spec.series_column is not None:
            scalers = Scaler.from_json(meta["scaler"])
            return PanelForecaster(model, scalers, spec, intervals, nonnegative=nonnegative)
        return cls(model, Scaler.from_json(meta["scaler"]), spec, cycle, intervals, nonnegative)


def _weights(path: Path, device: str) -> dict:
    """The state dict in a bundle's `weights.pt`; a missing file, or one that is not tensors alone (damaged,
    or a pickle of other objects, which `weights_only` refuses to run) is a `ForecastInputError` naming it."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise ForecastInputError(
            f"{path}: the bundle's weights file is missing; register the model again"
        ) from None
    except pickle.UnpicklingError:
        raise ForecastInputError(
            f"{path}: not a weights file (damaged, or a pickle of objects other than tensors, which is never"
            " run); register the model again from a trained run"
        ) from None
