"""Many series in one long table: reading and validation per series, per-series splits and scalers, windows
that never cross a series, the panel forecaster's long-table forecasts and its evaluation per series."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from bilstm import gate
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.errors import DataValidationError, ForecastInputError
from bilstm.evaluation import evaluate
from bilstm.forecaster import Forecaster
from bilstm.intervals import shortfall_warnings
from bilstm.pipeline import fit_forecaster, make_train_windows, new_forecaster, split_and_scale
from tests.helpers import tiny

LENGTHS = {"a": 200, "b": 260, "c": 230}


def long_frame(lengths: dict[str, int] = LENGTHS, seed: int = 0) -> pd.DataFrame:
    """Hourly series at different levels and start times: a daily cycle times the level, plus noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for number, (name, rows) in enumerate(lengths.items()):
        t = np.arange(rows)
        level = 10.0 * (number + 1)
        y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 24)) + rng.normal(0, 0.5, rows)
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=5 * number)
        parts.append(pd.DataFrame({"ds": pd.date_range(start, periods=rows, freq="h"), "id": name, "y": y}))
    return pd.concat(parts, ignore_index=True)


def panel_config(path, **overrides) -> PipelineConfig:
    base = {
        "data.path": str(path),
        "data.time_column": "ds",
        "data.series_column": "id",
        "data.targets": ["y"],
        "data.setting": "S",
        "window.lookback": 48,
        "window.horizon": 12,
    }
    return tiny(with_overrides(PipelineConfig(), base), **overrides)


def written(tmp_path, frame: pd.DataFrame) -> str:
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_a_shuffled_long_table_is_grouped_by_series_and_sorted_in_time_with_a_warning(tmp_path):
    frame = long_frame().sample(frac=1, random_state=1)
    with pytest.warns(UserWarning, match="not grouped by series and sorted in time"):
        panel = load_table(panel_config(written(tmp_path, frame)).data)
    assert list(panel.ids) == ["a", "b", "c"]
    assert list(panel.lengths) == [200, 260, 230]
    assert panel.freq == "h"
    for number, name in enumerate(panel.ids):
        rows = panel.rows_of(number)
        expected = long_frame().query(f"id == '{name}'")
        assert panel.frame.index[rows].is_monotonic_increasing
        np.testing.assert_allclose(panel.frame["y"].to_numpy()[rows], expected["y"].to_numpy())


def _every_second_hour_for_c(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[frame.id == "c", "ds"] = pd.date_range("2024-01-01", periods=230, freq="2h").to_numpy()
    return frame


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f.drop(columns="id"),
            r"series column 'id' not found; available: ds, y \(set --series-column\)",
        ),
        (lambda f: f.assign(id=f.id.where(f.index != 5)), r"series column 'id' is empty in row 6;"),
        (
            lambda f: pd.concat([f, f.iloc[[210]]], ignore_index=True),
            r"series 'b' has duplicate timestamps in column 'ds' in rows 211, 691; keep one row per series"
            r" and time, or set data.duplicates to first, last or mean to merge them$",
        ),
        (
            lambda f: f.drop(index=range(300, 310)),
            r"series 'b' \(file rows 201-450\) has a gap of 0 days 11:00:00 between rows 300 and 301 .* is"
            r" longer than data.max_gap=3 steps of h",
        ),
        (
            _every_second_hour_for_c,
            r"series 'c' \(file rows 461-690\) steps by 2 steps of h, the table by one;",
        ),
    ],
    ids=["no series column", "an empty id", "a repeated stamp", "a long gap", "another frequency"],
)
def test_bad_long_tables_are_refused_naming_the_series_and_rows(tmp_path, change, message):
    frame = change(long_frame())
    with pytest.raises(DataValidationError, match=message):
        load_table(panel_config(written(tmp_path, frame)).data)


def test_a_repeated_stamp_is_averaged_within_its_own_series_only(tmp_path):
    frame = long_frame()
    again = frame.iloc[[210]].assign(y=frame.y[210] + 10)  # series b's row 11 again, 10 higher
    path = written(tmp_path, pd.concat([frame, again], ignore_index=True))
    with pytest.warns(UserWarning, match=r"2 rows share their timestamp within their series with another"):
        panel = load_table(panel_config(path, **{"data.duplicates": "mean"}).data)
    assert list(panel.lengths) == [200, 260, 230]
    expected = frame.y.to_numpy().copy()
    expected[210] += 5
    np.testing.assert_allclose(panel.frame["y"].to_numpy(), expected)
    assert panel.file_rows[210] == 211  # the merged row is named by its first file row


def test_a_short_series_is_named_or_left_out_with_skip_short(tmp_path):
    path = written(tmp_path, long_frame({**LENGTHS, "short": 80}))
    config = panel_config(path)
    panel = load_table(config.data)
    with pytest.raises(
        DataValidationError, match=r"series 'short' \(file rows 691-770\) has 80 rows, too few"
    ):
        split_and_scale(panel, config)
    config = panel_config(path, **{"data.skip_short": True})
    with pytest.warns(UserWarning, match="left out 1 series too short"):
        prepared = split_and_scale(panel, config)
    assert list(prepared.series.ids) == ["a", "b", "c"]


def test_a_constant_series_is_refused_by_name(tmp_path):
    frame = long_frame()
    frame.loc[frame.id == "b", "y"] = 4.0
    config = panel_config(written(tmp_path, frame))
    with pytest.raises(
        DataValidationError, match="series 'b' .* has a constant target 'y' in its train rows"
    ):
        split_and_scale(load_table(config.data), config)


def test_split_last_holds_out_the_last_horizon_of_every_series_and_windows_stay_inside_one(tmp_path):
    config = panel_config(written(tmp_path, long_frame()))
    panel = load_table(config.data)
    prepared = split_and_scale(panel, config)
    split, horizon, lookback = prepared.split, 12, 48
    np.testing.assert_array_equal(split.val_end, panel.offsets[1:] - horizon)
    np.testing.assert_array_equal(split.train_end, panel.offsets[1:] - 2 * horizon)
    for part in ("train", "val", "test"):
        starts = split.starts(part)
        series = panel.row_series[starts]
        # the window's last target row is in the same series as its first input row
        assert (panel.row_series[starts + lookback + horizon - 1] == series).all()
    assert list(split.window_counts("test")) == [1, 1, 1]
    assert list(split.window_counts("train")) == [
        n - 2 * horizon - lookback - horizon + 1 for n in LENGTHS.values()
    ]
    train, val = make_train_windows(prepared, config)
    assert len(train) == split.window_counts("train").sum() and len(val) == 3


def test_each_series_is_scaled_by_its_own_train_rows_only(tmp_path):
    frame = long_frame()
    config = panel_config(written(tmp_path, frame))
    prepared = split_and_scale(load_table(config.data), config)
    for number, name in enumerate(["a", "b", "c"]):
        train = frame.query(f"id == '{name}'")["y"].to_numpy()[: -2 * 12]
        assert prepared.scaler.center[number, 0] == pytest.approx(train.mean())
        assert prepared.scaler.scale[number, 0] == pytest.approx(train.std())
    shared = split_and_scale(
        load_table(config.data), panel_config(config.data.path, **{"scaler.per_series": False})
    )
    assert np.unique(shared.scaler.center).size == 1


def test_uniform_series_sampling_draws_every_series_about_equally_often(tmp_path):
    config = panel_config(written(tmp_path, long_frame({"long": 2000, "short": 150})))
    prepared = split_and_scale(load_table(config.data), config)
    train, _ = make_train_windows(
        prepared, panel_config(config.data.path, **{"train.series_sampling": "uniform_series"})
    )
    import torch

    drawn = train.starts[train.draw(torch.Generator().manual_seed(0))].numpy()
    share_short = (prepared.series.row_series[drawn] == 1).mean()
    assert 0.45 < share_short < 0.55  # by windows alone it would be about 0.04


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny global model on the three series, its prepared panel and config."""
    folder = tmp_path_factory.mktemp("panel")
    config = panel_config(written(folder, long_frame()), **{"train.epochs": 2})
    panel = load_table(config.data)
    config = resolve(config, panel).config
    prepared = split_and_scale(panel, config)
    forecaster = new_forecaster(prepared, config)
    fit_forecaster(forecaster, make_train_windows(prepared, config), config, progress=False)
    return forecaster, prepared, folder


def test_evaluation_scores_every_series_and_the_baselines_on_the_same_windows(trained):
    forecaster, prepared, _ = trained
    evaluation = evaluate(forecaster, prepared)
    by_series, metrics = evaluation.by_series, evaluation.metrics
    assert list(by_series["id"]) == ["a", "b", "c"] and list(by_series["windows"]) == [1, 1, 1]
    assert metrics["test_smape"] == pytest.approx(by_series["smape"].mean())
    owa = 0.5 * (
        metrics["test_smape"] / metrics["naive2_test_smape"]
        + metrics["test_mase"] / metrics["naive2_test_mase"]
    )
    assert metrics["test_owa"] == pytest.approx(owa)
    # the baselines on the same windows: persistence repeats the last input, seasonal naive the day before
    values = prepared.series.frame["y"].to_numpy()
    for window, first in enumerate(evaluation.first_rows):
        number = evaluation.series[window]
        naive_mae = np.abs(evaluation.truth[window, :, 0] - values[first - 1]).mean()
        seasonal_mae = np.abs(evaluation.truth[window, :, 0] - values[first - 24 : first - 12]).mean()
        scale = prepared.scaler.scale[number, 0]
        assert by_series.loc[window, "naive_mae_scaled"] == pytest.approx(naive_mae / scale)
        assert by_series.loc[window, "seasonal_naive_mae_scaled"] == pytest.approx(seasonal_mae / scale)
    assert metrics["test_mse_scaled"] < metrics["naive_test_mse_scaled"]


@pytest.mark.parametrize(
    ("gate_metric", "measure"), [("mase", "test MASE (mean over series)"), ("owa", "test OWA")]
)
def test_the_gate_on_mase_or_owa_scores_the_champion_with_that_metric_on_the_same_windows(
    trained, gate_metric, measure
):
    forecaster, prepared, folder = trained
    config = resolve(panel_config(folder / "long.csv"), prepared.series).config
    champion = new_forecaster(prepared, config)  # untrained
    evaluation = evaluate(forecaster, prepared)
    metrics, key = evaluation.metrics, f"test_{gate_metric}"

    evidence = gate.single_split(evaluation, prepared, gate_metric)

    assert (evidence.measure, evidence.metric) == (measure, key)
    scores = (evidence.challenger, evidence.naive, evidence.seasonal_naive)
    assert scores == (metrics[key], metrics[f"naive_{key}"], metrics[f"seasonal_naive_{key}"])
    assert evidence.score(champion) == evaluate(champion, prepared).metrics[key]


def test_gating_on_owa_without_a_season_is_refused_before_training(tmp_path):
    config = panel_config(written(tmp_path, long_frame()), **{"data.seasonal_period": 1})
    panel = load_table(config.data)
    resolve(config, panel)  # the scaled MSE needs no season
    with pytest.raises(
        DataValidationError, match=r"registry\.gate_metric owa needs a seasonal period above 1"
    ):
        resolve(with_overrides(config, {"registry.gate_metric": "owa"}), panel)


def test_a_saved_panel_forecaster_forecasts_each_series_after_its_own_last_stamp(trained):
    forecaster, prepared, folder = trained
    loaded = Forecaster.load(forecaster.save(folder / "bundle"))
    history = long_frame()
    table = loaded.predict(history)
    assert list(table.columns[:4]) == ["id", "ds", "step", "y"]
    assert table.groupby("id").size().to_dict() == {"a": 12, "b": 12, "c": 12}
    for name, rows in history.groupby("id"):
        first = table[table.id == name]["ds"].iloc[0]
        assert first == rows["ds"].max() + pd.Timedelta(hours=1)
    same = forecaster.predict(history)
    np.testing.assert_allclose(table["y"].to_numpy(), same["y"].to_numpy(), rtol=1e-6)


def test_bands_three_validation_windows_cannot_support_warn_and_a_floored_panel_stays_at_zero(trained):
    forecaster, prepared, folder = trained
    assert forecaster.intervals.n == 3  # one validation window per series
    [warning] = shortfall_warnings(forecaster.intervals)
    assert warning.startswith("the 80 % and 95 % bands need at least 4 and 19 validation windows per")
    # positive but not counts: auto leaves them; floored (data.nonnegative true), the bundle keeps it
    assert forecaster.nonnegative == []
    loaded = Forecaster.load(dataclasses.replace(forecaster, nonnegative=["y"]).save(folder / "floored"))
    assert loaded.nonnegative == ["y"]
    history = long_frame()
    low = history[history.id == "a"].assign(id="low", y=lambda f: f.y - 12)  # a series that dips below 0
    floored = loaded.predict(pd.concat([history, low]))
    assert (floored.drop(columns=["id", "ds", "step"]) >= 0).all().all()
    evaluation = evaluate(loaded, prepared)
    assert all((lo >= 0).all() for lo, _ in evaluation.bands.values())
    unfloored = dataclasses.replace(loaded, nonnegative=[]).predict(pd.concat([history, low]))
    assert (unfloored[unfloored.id == "low"][["y", "y_lo_80"]] < 0).any().all()


def test_an_unknown_series_is_scaled_by_its_own_history_and_a_short_one_is_named(trained):
    forecaster, _, _ = trained
    history = long_frame()
    new = history[history.id == "a"].assign(id="new", y=lambda f: f.y * 3)
    table = forecaster.predict(pd.concat([history, new]))
    ratio = table[table.id == "new"]["y"].to_numpy() / table[table.id == "a"]["y"].to_numpy()
    np.testing.assert_allclose(ratio, 3.0, rtol=0.05)  # the same shape at three times the level
    short = history[history.id == "b"].tail(20).assign(id="tiny")
    with pytest.raises(
        ForecastInputError, match=r"history has series tiny with fewer than the 48 rows the model reads"
    ):
        forecaster.predict(pd.concat([history, short]))
    with pytest.warns(UserWarning, match="left out"):
        table = forecaster.predict(pd.concat([history, short]), skip_short=True)
    assert "tiny" not in set(table.id)


def test_a_series_embedding_is_learned_per_series_and_an_unknown_series_gets_the_mean_vector(tmp_path):
    config = panel_config(written(tmp_path, long_frame()), **{"model.series_embedding": 4, "train.epochs": 1})
    panel = load_table(config.data)
    config = resolve(config, panel).config
    prepared = split_and_scale(panel, config)
    forecaster = new_forecaster(prepared, config)
    fit_forecaster(forecaster, make_train_windows(prepared, config), config, progress=False)
    embedding = forecaster.model.series_embedding
    assert tuple(embedding.weight.shape) == (3, 4)
    history = long_frame()
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    known = loaded.predict(history)
    np.testing.assert_allclose(known["y"], forecaster.predict(history)["y"], rtol=1e-6)
    # the same history under a new name: the mean vector instead of series a's own
    renamed = loaded.predict(history[history.id == "a"].assign(id="new"))
    import torch

    own, mean = embedding.weight[0], embedding.weight.mean(dim=0)
    assert not torch.allclose(own, mean)
    # (after one epoch from the linear warm start the head is still small: the forecasts differ a little)
    assert not np.array_equal(renamed["y"].to_numpy(), known[known.id == "a"]["y"].to_numpy())
    inputs = torch.zeros(1, 48, 1)
    with torch.no_grad():
        by_mean = loaded.model(inputs, torch.tensor([-1]))
        by_default = loaded.model(inputs)
    torch.testing.assert_close(by_mean, by_default)
    with pytest.raises(ValueError, match="model.series_embedding needs many series"):
        with_overrides(PipelineConfig(), {"model.series_embedding": 4})
