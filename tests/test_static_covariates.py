"""Static covariates (`data.static`): attributes constant within a series, read by the network beside the
window; a model needs them where the series' dynamics depend on them, a bundle keeps their encoding, a series
unseen in training is forecast by its own, and values that vary within a series are refused naming rows."""

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import tiny
from pydantic import ValidationError

from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import load_table
from bilstm.errors import DataValidationError, ForecastInputError
from bilstm.forecaster import Forecaster
from bilstm.importance import permutation_importance
from bilstm.model import StaticEmbedding
from bilstm.pipeline import make_train_windows, run, split_and_scale

# series -> (kind, size): each is an AR(1) series y[t] = phi * y[t-1] + noise, phi = +size for kind "up" and
# -size for "down"; from its last value alone, the next one is only forecast knowing the kind and size
SERIES = {
    "a": ("up", 0.5),
    "b": ("up", 0.9),
    "c": ("up", 0.8),
    "d": ("down", 0.5),
    "e": ("down", 0.9),
    "f": ("down", 0.8),
}


def ar_series(name: str, kind: str, size: float, rows: int = 300, seed: int = 0) -> pd.DataFrame:
    phi = size if kind == "up" else -size
    noise = np.random.default_rng(seed).normal(0, 1, rows)
    y = np.zeros(rows)
    for t in range(1, rows):
        y[t] = phi * y[t - 1] + noise[t]
    stamps = pd.date_range("2024-01-01", periods=rows, freq="h")
    return pd.DataFrame({"ds": stamps, "id": name, "kind": kind, "size": size, "y": y})


def ar_frame() -> pd.DataFrame:
    return pd.concat(
        [ar_series(name, *attributes, seed=n) for n, (name, attributes) in enumerate(SERIES.items())],
        ignore_index=True,
    )


def ar_config(path, **overrides) -> PipelineConfig:
    """A lookback of one row (the network sees the last value only), without per-window normalisation."""
    settings = {
        "data.path": str(path),
        "data.time_column": "ds",
        "data.series_column": "id",
        "data.targets": ["y"],
        "data.setting": "S",
        "data.val_steps": 60,
        "data.test_steps": 60,
        "window.lookback": 1,
        "window.horizon": 2,
        "model.instance_norm": "none",
        "model.patch_len": 1,
        "intervals.levels": [],
        "train.epochs": 10,
        "train.lr": 1e-2,
    }
    return tiny(PipelineConfig(), **(settings | overrides))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(path, the model trained with the static columns, its evaluation, the evaluation without them)."""
    path = tmp_path_factory.mktemp("static") / "ar.csv"
    ar_frame().to_csv(path, index=False)
    forecaster, _, evaluation = run(ar_config(path, **{"data.static": ["kind", "size"]}), progress=False)
    _, _, without = run(ar_config(path), progress=False)
    return path, forecaster, evaluation, without


def test_series_whose_dynamics_the_statics_set_are_forecast_far_better_with_them(trained):
    _, _, with_statics, without = trained
    assert with_statics.metrics["test_mse_scaled"] < 0.75 * without.metrics["test_mse_scaled"]


def test_loading_reads_one_value_per_series_numeric_or_categorical(trained):
    path, forecaster, _, _ = trained
    series = load_table(ar_config(path, **{"data.static": ["kind", "size"]}).data)
    assert series.statics.loc["e"].tolist() == ["down", 0.9]
    assert "kind" not in series.input_columns and "size" not in series.input_columns
    assert forecaster.statics.categories == {"kind": ["down", "up"]}
    mean, std = forecaster.statics.numeric["size"]
    assert mean == pytest.approx(np.mean([0.5, 0.9, 0.8])) and std > 0


def test_a_bundle_round_trip_forecasts_identically(trained, tmp_path):
    path, forecaster, _, _ = trained
    history = pd.read_csv(path, parse_dates=["ds"])
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    assert loaded.spec.static_columns == ["kind", "size"]
    pd.testing.assert_frame_equal(loaded.predict(history), forecaster.predict(history))


def unseen(kind: str, last: float) -> pd.DataFrame:
    """A series 'g' not seen in training, of size 0.85, whose last value is `last`."""
    history = ar_series("g", kind, 0.85, rows=30, seed=9)
    history.loc[history.index[-1], "y"] = last
    return history


def test_an_unseen_series_is_forecast_by_its_own_static_values(trained):
    """Kind up carries a high last value on, kind down turns it over: the first step ahead shows which."""
    _, forecaster, _, _ = trained
    up = forecaster.predict(unseen("up", 3.0))["y"].iloc[0]
    down = forecaster.predict(unseen("down", 3.0))["y"].iloc[0]
    assert up > 1.0 and down < -1.0
    # a category unknown in training reads the mean embedding: a forecast between the two
    sideways = forecaster.predict(unseen("sideways", 3.0))["y"].iloc[0]
    assert down < sideways < up


def test_the_permutation_importance_ranks_the_static_columns_the_model_leans_on(trained):
    path, forecaster, _, _ = trained
    config = ar_config(path, **{"data.static": ["kind", "size"]})
    prepared = split_and_scale(load_table(config.data), config)
    _, validation = make_train_windows(prepared, config)
    table = permutation_importance(forecaster, validation).set_index("input")
    # the last value comes first (the only window input); the kind sets the sign of what follows
    assert list(table.index) == ["y", "kind", "size"] and table.loc["kind", "role"] == "static"
    assert table.loc["kind", "mse_ratio"] > 1.2


def test_an_unknown_category_reads_the_mean_embedding():
    torch.manual_seed(0)
    embedding = StaticEmbedding([0, 3])
    unknown = embedding(torch.tensor([[0.5, -1.0]]))
    mean = embedding.embeddings[0].weight.mean(dim=0)
    torch.testing.assert_close(unknown, torch.cat([torch.tensor([0.5]), mean])[None])
    assert embedding.width == 1 + 2


def test_a_static_column_that_varies_within_a_series_is_refused_naming_the_series_and_rows(tmp_path):
    frame = ar_frame()
    frame.loc[(frame["id"] == "b").to_numpy().nonzero()[0][5], "kind"] = "down"
    path = tmp_path / "varies.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(
        DataValidationError,
        match=r"column 'kind' varies within series 'b' \(file rows 301 and 306: 'up', 'down'\); a static"
        r" column holds one value per series$",
    ):
        load_table(ar_config(path, **{"data.static": ["kind"]}).data)


def test_an_empty_static_cell_is_refused_naming_the_row(tmp_path):
    frame = ar_frame()
    frame.loc[7, "size"] = np.nan
    path = tmp_path / "empty.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"static column 'size' is empty in row 8 \(series 'a'\)"):
        load_table(ar_config(path, **{"data.static": ["size"]}).data)


def test_a_history_whose_static_column_varies_is_missing_or_not_a_number_is_refused(trained):
    _, forecaster, _, _ = trained
    history = unseen("up", 3.0)
    history.loc[history.index[-1], "kind"] = "down"
    with pytest.raises(ForecastInputError, match=r"history: column 'kind' varies within series 'g'"):
        forecaster.predict(history)
    with pytest.raises(ForecastInputError, match=r"history: static column\(s\) size not found"):
        forecaster.predict(unseen("up", 3.0).drop(columns="size"))
    with pytest.raises(ForecastInputError, match=r"history: static column 'size' is numeric in the model"):
        forecaster.predict(unseen("up", 3.0).assign(size="big"))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"data.static": ["OT"]}, r"column 'OT' is in data.static and data.targets"),
        ({"data.static": ["x"], "data.features": ["x"]}, r"'x' is in data.static and data.features"),
        ({"data.static": ["x"], "data.future": ["x"]}, r"'x' is in data.static and data.future"),
        ({"data.static": ["date"]}, r"'date' is in data.static and data.time_column"),
        (
            {"data.static": ["id"], "data.series_column": "id", "data.split": "last"},
            r"'id' is in data.static and data.series_column",
        ),
        ({"data.static": ["x", "x"]}, r"data.static names a column twice"),
        ({"data.static": ["x"], "data.series_column": None}, r"data.static needs many series"),
    ],
    ids=["target", "feature", "future", "time", "series", "twice", "one series"],
)
def test_a_static_column_in_another_role_is_refused_in_one_line(overrides, message):
    with pytest.raises(ValidationError, match=message):
        with_overrides(PipelineConfig(), overrides)
