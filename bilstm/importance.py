"""Which inputs a trained forecaster leans on: permutation importance on its validation windows, which it
never trained on. Each input (a column, or the columns of one calendar feature together) is shuffled across
the windows, over the lookback and the horizon alike, and the rise of the scaled MSE is its importance; each
static column is shuffled across the windows the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bilstm.calendar_features import columns as calendar_columns
from bilstm.forecaster import Forecaster
from bilstm.training import predict
from bilstm.windows import Windows

MAX_WINDOWS = 2048  # evenly spaced validation windows: enough for a ranking, bounded in cost


def input_groups(forecaster: Forecaster) -> dict[str, tuple[str, list[int]]]:
    """name -> (role, input column numbers): each file column alone, each calendar feature's columns
    together (the sine and cosine of one phase mean one thing)."""
    spec = forecaster.spec
    derived = set(spec.calendar_columns)
    groups = {}
    for number, column in enumerate(spec.input_columns):
        if column in derived:
            continue
        role = (
            "target"
            if column in spec.target_columns
            else "future"
            if column in spec.future_columns
            else "past"
        )
        groups[column] = (role, [number])
    for entry in spec.calendar:
        groups[entry] = ("calendar", [spec.input_columns.index(c) for c in calendar_columns([entry])])
    return groups


def permutation_importance(forecaster: Forecaster, validation: Windows, seed: int = 0) -> pd.DataFrame:
    """One row per input, most important first: `input`, `role` (target, past, future, calendar, static), the
    validation MSE (scaled) with it shuffled, and its rise over the unshuffled MSE (`mse_increase`,
    `mse_ratio`)."""
    chosen = np.unique(np.linspace(0, len(validation) - 1, min(len(validation), MAX_WINDOWS)).astype(int))
    inputs = validation.inputs[chosen].numpy()
    targets = validation.targets[chosen].numpy()
    series, static = validation.series_of(chosen), validation.static_of(chosen)

    def mse(windows: np.ndarray, statics: torch.Tensor | None = static) -> float:
        outputs = predict(forecaster.model, windows, series, static=statics).numpy().reshape(targets.shape)
        return float(np.mean((outputs - targets) ** 2))

    base, rng, rows = mse(inputs), np.random.default_rng(seed), []
    for name, (role, numbers) in input_groups(forecaster).items():
        shuffled = inputs.copy()
        shuffled[:, :, numbers] = inputs[rng.permutation(len(inputs))][:, :, numbers]
        error = mse(shuffled)
        rows.append({"input": name, "role": role, "val_mse_scaled": error, "mse_increase": error - base})
    for j, name in enumerate(forecaster.spec.static_columns):
        shuffled = static.clone()
        shuffled[:, j] = static[torch.as_tensor(rng.permutation(len(static))), j]
        error = mse(inputs, shuffled)
        rows.append({"input": name, "role": "static", "val_mse_scaled": error, "mse_increase": error - base})
    table = pd.DataFrame(rows).assign(mse_ratio=lambda t: t["val_mse_scaled"] / base)
    return table.sort_values("mse_increase", ascending=False, ignore_index=True)


def importance_plot(table: pd.DataFrame) -> Figure:
    """A bar per input: how much its shuffling raised the validation MSE, coloured by role."""
    colors = {
        "target": "tab:gray",
        "past": "tab:blue",
        "future": "tab:orange",
        "calendar": "tab:green",
        "static": "tab:purple",
    }
    figure = Figure(figsize=(7, 0.4 * len(table) + 1.2), layout="constrained")
    axes = figure.subplots()
    shown = table.iloc[::-1]
    axes.barh(shown["input"], shown["mse_increase"], color=[colors[r] for r in shown["role"]])
    axes.set_xlabel("rise of the validation MSE (scaled) when shuffled")
    axes.set_title("Permutation importance of the inputs")
    roles = [role for role in colors if role in set(table["role"])]
    axes.legend(handles=[Patch(color=colors[role], label=role) for role in roles], loc="lower right")
    return figure
