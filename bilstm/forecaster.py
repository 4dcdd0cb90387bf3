"""The forecaster, the product a run registers: the network (`BiLSTMNet`, or an `Ensemble` of them), its
scaler (per series) and window settings, for one series or for the many series of a long table.

Saved as a bundle, a directory of `forecaster.json` and `weights.pt` (a state dict read back with
`torch.load(weights_only=True)`): loading it never unpickles code. Its conformal intervals, where calibrated,
are JSON in `forecaster.json` too, and so are the targets it floors at 0 (`bilstm.nonnegative`).
`Forecaster.predict` turns a history DataFrame (a long table with the series column, for a model of many
series) into a DataFrame of the future timestamps of each series and forecasts in original units, with their
bands where the forecaster has intervals. A series the model was not trained on is scaled by its own history.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bilstm.calendar_steps import future_stamps
from bilstm.config import CsvConfig, DataConfig, ModelConfig
from bilstm.cycle import Cycle
from bilstm.ensemble import Ensemble, build
from bilstm.errors import ForecastInputError
from bilstm.history import history_ids, read_future, read_history, shown_stamps, split_future_rows
from bilstm.intervals import ConformalIntervals, level_name
from bilstm.model import BiLSTMNet
from bilstm.nonnegative import floor, floor_bands, floor_mask
from bilstm.scaling import Scaler
from bilstm.statics import StaticEncoding, read_statics
from bilstm.training import predict
from bilstm.window_spec import WindowSpec
from bilstm.windows import numpy_windows

# 2 added the cycle, 3 the time zone, 4 the intervals, 5 many series (a series column and a scaler per
# series), 6 one format for one series and many, 7 covariates known in advance, 8 ensembles
FORMAT_VERSION = 8
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8)


@dataclass
class Forecaster:
    model: BiLSTMNet | Ensemble
    scaler: Scaler
    spec: WindowSpec
    cycle: Cycle | None = None
    intervals: ConformalIntervals | None = None  # None: calibrated without levels, or bundles before format 4
    nonnegative: list[str] = field(default_factory=list)  # targets floored at 0; none in older bundles
    statics: StaticEncoding | None = None  # how the network reads `spec.static_columns`; None without

    def bands(
        self,
        point: np.ndarray,
        inputs: np.ndarray | None = None,
        series: np.ndarray | None = None,
        scaler: Scaler | None = None,
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """{level: (lo, hi)} in original units around (N, T, k) original-unit forecasts, window n of series
        series[n] of `scaler` (the forecaster's own by default; None: all of its first series); {} without
        intervals. `inputs`: the (N, L, C) network inputs of those forecasts (`input_windows`), which a
        scaled-residuals calibration needs for each window's volatility. Floored at 0 as the forecasts are."""
        if self.intervals is None:
            return {}
        # a window's volatility is of its lookback rows
        inputs = None if inputs is None else inputs[:, : self.spec.lookback]
        scaler = scaler or self.scaler
        units = scaler.units(self._targets, series)
        units = units if series is None else units[:, None, :]
        # half-widths per series are by the training series' numbers; -1: a series it did not train on
        known = None if series is None else self.scaler.numbers(scaler.ids)[series]
        return floor_bands(self.intervals.bands(point, units, inputs, known), self._floored)

    def forecast_inputs(
        self,
        inputs: np.ndarray,
        series: np.ndarray,
        scaler: Scaler | None = None,
        target_cycle: np.ndarray | None = None,
        static: np.ndarray | None = None,
    ) -> np.ndarray:
        """(N, T, k) original-unit forecasts of (N, L, C) network inputs, window n of series series[n] of
        `scaler` (the forecaster's own by default); `target_cycle`: (N, T, k) the removed cycle at the
        windows' targets, put back; `static`: (N, D) the windows' encoded static columns (`static_codes`),
        for a model with them; the `nonnegative` targets floored at 0."""
        scaler = scaler or self.scaler
        # a series embedding knows the series by their number in training; -1: not seen there
        known = self.scaler.numbers(scaler.ids)[series]
        outputs = predict(self.model, inputs, known, static=static)
        outputs = outputs.numpy().reshape(len(inputs), self.spec.horizon, -1)
        if target_cycle is not None:
            outputs = outputs + target_cycle
        return floor(scaler.inverse_transform(outputs, self._targets, series), self._floored)

    def static_codes(self, statics: pd.DataFrame | None, where: str = "data") -> np.ndarray | None:
        """(S, D) what the network reads of per-series static values (`bilstm.statics.read_statics`): None
        for a model without static columns."""
        if self.statics is None:
            return None
        if statics is None:
            raise ForecastInputError(
                f"{where}: the model reads static column(s) {', '.join(self.spec.static_columns)}: give"
                " each series' value on its rows"
            )
        return self.statics.encode(statics, where)

    def network_values(
        self,
        values: np.ndarray,
        times: pd.DatetimeIndex | None,
        row_series: np.ndarray | None = None,
        scaler: Scaler | None = None,
    ) -> np.ndarray:
        """(rows, C) float32 what the network reads of (rows, C) original values of `spec.input_columns`:
        scaled by `scaler` (the forecaster's own by default; row r of series row_series[r], None: all of its
        first series), the cycle at `times` removed where it has one (which then needs the times)."""
        scaler = scaler or self.scaler
        scaled = scaler.transform(values, series=row_series)
        if self.cycle is not None:
            if times is None:
                raise ValueError("this forecaster removes a cycle: pass the times of the rows")
            scaled = scaled - self.cycle.at(times, series=self.cycle_series(scaler, row_series))
        return scaled.astype(np.float32)

    def cycle_series(self, scaler: Scaler, series: np.ndarray | None) -> np.ndarray | None:
        """The cycle's number (-1: a series it was not fitted on) of each of `series`, numbers of `scaler`'s
        series; None stays None (all of the first series)."""
        return None if series is None else self.cycle.numbers(scaler.ids)[series]

    def input_windows(
        self,
        values: np.ndarray,
        times: pd.DatetimeIndex | None = None,
        series: int = 0,
        scaler: Scaler | None = None,
    ) -> np.ndarray:
        """What the network reads of every window of (rows, C) original values of series `series` of
        `scaler` (the forecaster's own by default), its `spec.input_columns` at `times` (needed with a
        cycle): (rows - L - A + 1, L + A, C), A = `spec.ahead`; window i reads rows [i, i + L + A)."""
        scaled = self.network_values(values, times, np.full(len(values), series), scaler)
        length = self.spec.lookback + self.spec.ahead
        # (N, C, L + A) -> (N, L + A, C)
        return np.lib.stride_tricks.sliding_window_view(scaled, length, axis=0).transpose(0, 2, 1)

    def forecast_windows(
        self,
        values: np.ndarray,
        times: pd.DatetimeIndex | None = None,
        series: int = 0,
        scaler: Scaler | None = None,
        static: np.ndarray | None = None,
    ) -> np.ndarray:
        """Forecasts in original units for every window of (rows, C) original values of series `series` of
        `scaler` (the forecaster's own by default), its `spec.input_columns` taken at `times` (needed with
        a cycle): (rows - L - T + 1, T, k), window i reading rows [i, i + L); `static`: (D,) the series'
        encoded static columns, for a model with them; the `nonnegative` targets floored at 0."""
        lookback, horizon = self.spec.lookback, self.spec.horizon
        inputs = self.input_windows(values, times, series, scaler)[: len(values) - lookback - horizon + 1]
        target_cycle = None
        if self.cycle is not None:  # the series' own cycle at each window's target rows, (N, T, k)
            of_rows = self.cycle_series(scaler or self.scaler, np.full(len(values), series))
            _, target_cycle = numpy_windows(self.cycle.at(times, self._targets, of_rows), lookback, horizon)
        static = None if static is None else np.repeat(static[None, :], len(inputs), axis=0)
        return self.forecast_inputs(inputs, np.full(len(inputs), series), scaler, target_cycle, static)

    @property
    def _targets(self) -> slice:
        """The target columns among the input columns: the last ones."""
        return slice(-len(self.spec.target_columns), None)

    @property
    def _floored(self) -> np.ndarray:
        return floor_mask(self.spec.target_columns, self.nonnegative)

    def predict(
        self, history: pd.DataFrame, skip_short: bool = False, future: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Forecast the `horizon` steps after the last row of each series of `history`.

        Args:
            history: the time column (or, for one series, a DatetimeIndex), every input column and, for a
                model of many series, the series column; at least `lookback` rows per series, of which the
                last `lookback` must be filled. For a model trained on stamps with offsets, the stamps may
                carry any offset (datetimes or ISO text); stamps without one are local times in
                `spec.timezone`.
            skip_short: leave out, with a warning, a series with fewer rows than the lookback (else an error).
            future: for a model with `spec.future_columns`, their values over the horizon: the time column,
                the series column (many series) and those columns, a row for each of the `horizon` stamps
                after each series' last history row (no more, no fewer).
        Returns:
            DataFrame with the series column (many series only), the time column (future timestamps, in
            `spec.timezone` when it is set), `step` (1..T) and one column per target, each followed, where
            the forecaster has intervals, by `<target>_lo_<level>` and `<target>_hi_<level>` per level
            (`<t>_lo_80`, `<t>_hi_80`, `<t>_lo_95`, `<t>_hi_95` by default), nested: lo_95 <= lo_80 <=
            point <= hi_80 <= hi_95.
        """
        spec, lookback = self.spec, self.spec.lookback
        read = read_history(spec, history, skip_short)
        uniques, codes, times, values, keep = read.ids, read.codes, read.times, read.values, read.keep
        ends = np.cumsum(np.bincount(codes, minlength=len(uniques)))[keep]
        starts = ends - lookback
        scaler = self.scaler.with_unknown(uniques, values, codes)
        static = self._history_statics(history, uniques)
        scaled = self.network_values(values, times, codes, scaler)
        # (rows - L + 1, C, L) -> (rows - L + 1, L, C)
        inputs = np.lib.stride_tricks.sliding_window_view(scaled, lookback, axis=0).transpose(0, 2, 1)[starts]
        series = np.flatnonzero(keep)
        stamps = future_stamps(times[ends - 1], spec.horizon, spec.freq, spec.timezone)
        if spec.known_columns or future is not None:
            ahead = np.full((len(stamps), len(spec.input_columns)), np.nan)
            known = [spec.input_columns.index(c) for c in spec.known_columns]
            ahead[:, known] = read_future(spec, future, uniques[keep], stamps)
            ahead = self.network_values(ahead, stamps, np.repeat(series, spec.horizon), scaler)
            # the horizon's other columns are never read: zeros, not NaN, so that no NaN reaches a product
            ahead = np.nan_to_num(ahead).reshape(len(series), spec.horizon, -1)
            inputs = np.concatenate([inputs, ahead], axis=1)
        cycle = None
        if self.cycle is not None:
            of_steps = np.repeat(self.cycle_series(scaler, series), spec.horizon)
            cycle = self.cycle.at(stamps, self._targets, of_steps).reshape(len(series), spec.horizon, -1)
        static = None if static is None else static[series]
        point = self.forecast_inputs(inputs, series, scaler, cycle, static)
        bands = self.bands(point, inputs, series, scaler)
        frame = (
            {} if spec.series_column is None else {spec.series_column: np.repeat(uniques[keep], spec.horizon)}
        )
        frame[spec.time_column] = shown_stamps(spec, stamps)
        frame["step"] = np.tile(np.arange(1, spec.horizon + 1), len(series))
        for j, target in enumerate(spec.target_columns):
            frame[target] = point[:, :, j].reshape(-1)
            for level, (lo, hi) in bands.items():
                frame[f"{target}_lo_{level_name(level)}"] = lo[:, :, j].reshape(-1)
                frame[f"{target}_hi_{level_name(level)}"] = hi[:, :, j].reshape(-1)
        return pd.DataFrame(frame)

    def _history_statics(self, history: pd.DataFrame, ids: np.ndarray) -> np.ndarray | None:
        """(S, D) the encoded static columns of the series `ids` (sorted) of `history`, each constant within
        its series; None for a model without static columns."""
        if self.statics is None:
            return None
        codes, _ = pd.factorize(history_ids(self.spec, history), sort=True)
        columns = self.spec.static_columns
        statics = read_statics(history, columns, codes, ids, "history", ForecastInputError)
        return self.statics.encode(statics, "history", ForecastInputError)

    def predict_table(self, table: pd.DataFrame) -> pd.DataFrame:
        """`predict` of one table holding the history and, for a model with future columns, each series'
        `horizon` future rows after it: those columns filled, the targets empty (the pyfunc's input)."""
        history, future = split_future_rows(self.spec, table)
        return self.predict(history, future=future)

    def data_config(self, path: str | None, csv: CsvConfig | None = None) -> DataConfig:
        """How to read a history for this model: its time column, features and targets, and its training
        run's policy for missing values; `csv`: the file's separator and decimal mark (empty: sniffed)."""
        targets, known = self.spec.target_columns, self.spec.known_columns
        features = [c for c in self.spec.input_columns if c not in targets and c not in known]
        # a model trained with setting M has targets == inputs, which setting S reads the same way
        return DataConfig(
            path=path,
            time_column=self.spec.time_column,
            series_column=self.spec.series_column,
            timezone=self.spec.timezone,
            targets=targets,
            features=features,
            setting="MS" if features else "S",
            missing=self.spec.missing,
            csv=csv or CsvConfig(),
            future=self.spec.future_columns,
            calendar=self.spec.calendar,
            static=self.spec.static_columns,
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
            "statics": None if self.statics is None else self.statics.to_json(),
        }
        (directory / "forecaster.json").write_text(json.dumps(meta, indent=2))
        torch.save({k: v.cpu() for k, v in self.model.state_dict().items()}, directory / "weights.pt")
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "cpu") -> Forecaster:
        """The forecaster a bundle holds, of any readable format."""
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
        scaler = Scaler.from_json(meta["scaler"])
        statics = StaticEncoding.from_json(meta["statics"]) if meta.get("statics") else None
        config = ModelConfig(**meta["model_config"])

        def network(lookback: int, model: ModelConfig) -> BiLSTMNet:
            return BiLSTMNet(
                model,
                len(spec.input_columns),
                len(spec.target_columns),
                spec.horizon,
                lookback,
                0 if meta["format_version"] < 5 else len(scaler.ids),  # the series an embedding knows
                [spec.input_columns.index(c) for c in spec.future_columns],
                [spec.input_columns.index(c) for c in spec.calendar_columns],
                statics.sizes if statics else (),
            )

        model = build(config, spec.lookback, network)
        state = _weights(directory / "weights.pt", device)
        model.load_state_dict(state)
        cycle = Cycle.from_json(meta["cycle"]) if meta.get("cycle") else None
        intervals = ConformalIntervals.from_json(meta["intervals"]) if meta.get("intervals") else None
        nonnegative = meta.get("nonnegative", [])  # bundles from before flooring floor nothing
        return cls(model.to(device).eval(), scaler, spec, cycle, intervals, nonnegative, statics)


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
