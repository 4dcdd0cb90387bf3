"""The pipeline's steps for many series in one long table: the same network and training loop as one series
(`bilstm.pipeline`), with per-series splits, per-series scalers and windows that never cross a series.

load (`bilstm.panel.load_panel`) -> `bilstm.panel_settings.resolve_panel` -> `split_and_scale_panel` ->
`make_panel_windows` -> `new_panel_forecaster` -> `bilstm.pipeline.fit_forecaster` ->
`bilstm.evaluation.evaluate_panel`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bilstm.config import PipelineConfig
from bilstm.defaults import season
from bilstm.forecaster import WindowSpec
from bilstm.model import BiLSTMNet
from bilstm.nonnegative import floored_targets
from bilstm.panel import Panel
from bilstm.panel_forecaster import PanelForecaster
from bilstm.scaling import Scaler
from bilstm.split import Split, checked_panel_split
from bilstm.windows import Windows, split_windows


@dataclass
class ScaledPanel:
    """A panel split per series, with scalers fitted on each series' train rows, and the scaled values."""

    panel: Panel
    split: Split
    scalers: Scaler
    scaled: np.ndarray  # (rows, C) float32


def split_and_scale_panel(panel: Panel, config: PipelineConfig) -> ScaledPanel:
    """Split every series (leaving out the short ones where `data.skip_short`), fit one scaler per series
    on its train rows (one for all with `scaler.per_series` off), and scale every row."""
    panel, split = checked_panel_split(panel, config)
    values, row_series = panel.frame[panel.input_columns].to_numpy(), panel.row_series
    train = split.train_mask(len(values))
    kind, per_series = config.scaler.kind, config.scaler.per_series
    scalers = Scaler.fit(kind, values, row_series, panel.ids, train, per_series)
    scaled = scalers.transform(values, series=row_series, dtype=np.float32)
    return ScaledPanel(panel, split, scalers, scaled)


def make_panel_windows(prepared: ScaledPanel, config: PipelineConfig) -> tuple[Windows, Windows]:
    """Train and validation windows of every series (`train.series_sampling`, `model.series_embedding`)."""
    uniform = config.train.series_sampling == "uniform_series"
    keys = prepared.panel.row_series if config.model.series_embedding else None
    k = len(prepared.panel.target_columns)
    return split_windows(prepared.scaled, prepared.split, k, uniform, keys)


def new_panel_forecaster(prepared: ScaledPanel, config: PipelineConfig) -> PanelForecaster:
    """An untrained forecaster of the panel's series, with the seed's initial weights and the targets it
    floors at 0 (`data.nonnegative`, auto read from every series' train and validation rows)."""
    torch.manual_seed(config.train.seed)
    panel, window = prepared.panel, config.window
    inputs, targets = len(panel.input_columns), len(panel.target_columns)
    net = BiLSTMNet(config.model, inputs, targets, window.horizon, window.lookback, len(panel.ids))
    spec = WindowSpec(
        time_column=config.data.time_column,
        input_columns=panel.input_columns,
        target_columns=panel.target_columns,
        lookback=window.lookback,
        horizon=window.horizon,
        freq=panel.freq,
        timezone=panel.timezone,
        series_column=panel.series_column,
        seasonal_period=season(config.data, panel.freq),
        missing=config.data.missing,
    )
    targets = panel.target_columns
    # every series' train and validation rows: those before its val_end
    known = np.arange(len(panel.frame)) < prepared.split.val_end[panel.row_series]
    nonnegative = floored_targets(config.data.nonnegative, panel.frame[targets].to_numpy()[known], targets)
    return PanelForecaster(net, prepared.scalers, spec, nonnegative=nonnegative)
