"""The settings a many-series config leaves to the data (lookback, patch length), filled in from the panel,
and the refusal of what many series do not support. Free of torch and scikit-learn, so the CLI's preflight
(`deployments.preflight`) runs it before anything heavy loads.
"""

from __future__ import annotations

from bilstm.config import PipelineConfig, with_overrides
from bilstm.defaults import default_lookback, default_patch_len, season
from bilstm.errors import DataValidationError
from bilstm.panel import Panel


def resolve_panel(config: PipelineConfig, panel: Panel) -> PipelineConfig:
    """Fill in the settings left to the data (lookback, patch length) from the shortest series' train rows,
    and refuse what many series do not support, or this data's seasonal period does not."""
    if config.scaler.cycle:
        raise DataValidationError(
            f"{panel.source}: scaler.cycle is not supported with a series column; leave it at 0"
        )
    period = season(config.data, panel.freq)
    if config.registry.gate_metric == "owa" and period == 1:
        raise DataValidationError(
            f"{panel.source}: registry.gate_metric owa needs a seasonal period above 1, not 1 (OWA is scored"
            " only where the data has a season); set data.seasonal_period above 1 or use mase"
        )
    derived = {}
    lookback = config.window.lookback
    if lookback is None:
        held_out = 2 * config.window.horizon
        shortest = int(panel.lengths.min()) - held_out
        lookback = derived["window.lookback"] = default_lookback(period, max(shortest, 1))
    if config.model.patch_len is None:
        derived["model.patch_len"] = default_patch_len(period, lookback)
    return with_overrides(config, derived)
