"""Covariates known in advance (`data.future`, `data.calendar`): the network uses the horizon's values and
never the horizon's targets, forecasts take the future values and refuse what does not fit, and a bundle keeps
them."""

import holidays
import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from helpers import SHAPES, shaped_config
from pydantic import ValidationError

from bilstm.config import ModelConfig, PipelineConfig, with_overrides
from bilstm.errors import DataValidationError, ForecastInputError
from bilstm.forecaster import Forecaster
from bilstm.model import BiLSTMNet
from bilstm.pipeline import run


def driven_frame(shape: str, rows: int = 500, seed: int = 0) -> pd.DataFrame:
    """Hourly `y` = 4 * `load` + a daily cycle + noise, where `load` is white noise: the past says nothing of
    the horizon's `load`, so only a model that reads it there can forecast `y`."""
    rng = np.random.default_rng(seed)
    parts = []
    for number, name in enumerate(["a", "b"] if shape == "many" else ["a"]):
        load = rng.normal(0, 1, rows)
        t = np.arange(rows)
        y = 20 * (number + 1) + 4 * load + np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.1, rows)
        stamps = pd.date_range("2024-01-01", periods=rows, freq="h")
        parts.append(pd.DataFrame({"ds": stamps, "id": name, "load": load, "y": y}))
    frame = pd.concat(parts, ignore_index=True)
    return frame if shape == "many" else frame.drop(columns="id")


def driven_config(path, shape: str, **overrides) -> PipelineConfig:
    """`shaped_config`'s tiny job with a lookback of 24 and a horizon of 6, 2 epochs."""
    window = {"window.lookback": 24, "window.horizon": 6, "train.epochs": 2}
    return shaped_config(path, shape, **(window | overrides))


@pytest.fixture(scope="module", params=SHAPES)
def driven(request, tmp_path_factory):
    """(shape, path, the model trained with `load` as a future column, its evaluation, the one without)."""
    shape = request.param
    path = tmp_path_factory.mktemp(shape) / "driven.csv"
    driven_frame(shape).to_csv(path, index=False)
    with_load, _, evaluation = run(driven_config(path, shape, **{"data.future": ["load"]}), progress=False)
    _, _, without = run(driven_config(path, shape), progress=False)
    return shape, path, with_load, evaluation, without


def test_a_target_driven_by_a_future_column_is_forecast_far_better_with_it(driven):
    _, _, _, with_load, without = driven
    assert with_load.metrics["test_mse_scaled"] < 0.2 * without.metrics["test_mse_scaled"]


def test_the_network_never_reads_the_horizons_targets_or_past_only_columns():
    torch.manual_seed(0)
    net = BiLSTMNet(ModelConfig(patch_len=1), 3, 1, horizon=4, lookback=8, future=[1]).eval()
    x = torch.randn(5, 12, 3)
    changed = x.clone()
    changed[:, 8:, 2] += 100.0  # the horizon's targets
    changed[:, 8:, 0] -= 50.0  # a past-only feature over the horizon
    torch.testing.assert_close(net(x), net(changed))
    changed[:, 8:, 1] += 1.0  # the known column over the horizon
    assert not torch.allclose(net(x), net(changed))


def test_the_linear_warm_start_fits_the_horizons_covariates():
    """y over the horizon is 2 x the known column there: the least-squares start alone gets it exactly."""
    torch.manual_seed(0)
    net = BiLSTMNet(ModelConfig(patch_len=1, instance_norm="none"), 2, 1, horizon=3, lookback=5, future=[0])
    x = torch.randn(400, 8, 2)
    y = 2 * x[:, 5:, 0]
    net.fit_highway([(x, y)], penalties=[1e-6])
    torch.testing.assert_close(net.eval()(x), y, atol=1e-3, rtol=1e-3)


def future_rows(shape: str, frame: pd.DataFrame, horizon: int, load: float = 0.5) -> pd.DataFrame:
    """The `horizon` hourly stamps after each series' last row, with `load` there."""
    parts = []
    for name, rows in frame.groupby("id") if shape == "many" else [(None, frame)]:
        stamps = pd.date_range(rows["ds"].max() + pd.Timedelta(hours=1), periods=horizon, freq="h")
        part = pd.DataFrame({"ds": stamps, "load": load})
        parts.append(part if name is None else part.assign(id=name))
    return pd.concat(parts, ignore_index=True)


def test_a_forecast_reads_the_future_values_given_and_a_bundle_keeps_them(driven, tmp_path):
    shape, path, forecaster, _, _ = driven
    history = pd.read_csv(path, parse_dates=["ds"])
    low = forecaster.predict(history, future=future_rows(shape, history, 6, load=-1.0))
    high = forecaster.predict(history, future=future_rows(shape, history, 6, load=1.0))
    # y = 4 * load + ...: two units of load apart, about 8 apart in y
    assert np.mean(high["y"] - low["y"]) > 4.0
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    assert loaded.spec.future_columns == ["load"]
    again = loaded.predict(history, future=future_rows(shape, history, 6, load=1.0))
    np.testing.assert_allclose(again["y"], high["y"], rtol=1e-6)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: None, r"reads load over the horizon: pass their values for the 6 steps"),
        (lambda f: f.drop(columns="load"), r"future data lacks column\(s\) load"),
        (lambda f: f.iloc[1:], r"future data has no row for (series 'a' at )?2024-01-21 20:00:00"),
        (
            lambda f: pd.concat([f, f.iloc[:1]]),
            r"future data has two rows for (series 'a' at )?2024-01-21 20:00",
        ),
        (
            lambda f: pd.concat([f, f.iloc[-1:].assign(ds=f["ds"].max() + pd.Timedelta(hours=1))]),
            r"future data has rows outside the horizon: (series '.' at )?2024-01-22 02:00:00",
        ),
        (lambda f: f.assign(load=np.where(f.index == 2, np.nan, f["load"])), r"NaN or inf in 'load'"),
    ],
    ids=["no future data", "column missing", "row missing", "row twice", "extra row", "NaN"],
)
def test_future_data_that_does_not_fit_the_horizon_is_refused_naming_the_series_and_stamp(
    driven, change, message
):
    shape, path, forecaster, _, _ = driven
    history = pd.read_csv(path, parse_dates=["ds"])
    with pytest.raises(ForecastInputError, match=message):
        forecaster.predict(history, future=change(future_rows(shape, history, 6)))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"data.future": ["OT"]}, r"column 'OT' is in data.future and data.targets"),
        ({"data.future": ["load"], "data.features": ["load"]}, r"'load' is in data.future and data.features"),
        ({"data.future": ["load", "load"]}, r"data.future names a column twice"),
        (
            {"data.future": ["load"], "data.setting": "M", "model.channel_independent": True},
            r"model.channel_independent .* cannot read covariates known in advance",
        ),
    ],
    ids=["future target", "future feature", "twice", "channel independent"],
)
def test_a_column_in_two_roles_is_refused_in_one_line(overrides, message):
    with pytest.raises(ValidationError, match=message):
        with_overrides(PipelineConfig(), overrides)


def test_a_future_column_missing_from_the_training_file_is_refused(tmp_path):
    from bilstm.data import load_table

    path = tmp_path / "driven.csv"
    driven_frame("one").to_csv(path, index=False)
    config = driven_config(path, "one", **{"data.future": ["wind"]})
    with pytest.raises(
        DataValidationError, match=r"column 'wind' not found; .*add it, or drop it from --future"
    ):
        load_table(config.data)


def test_a_holiday_effect_is_forecast_on_the_holidays_ahead(tmp_path):
    """Daily sales 8 higher on German public holidays: a model with `holiday:DE` forecasts Christmas high."""
    stamps = pd.date_range("2021-01-01", "2024-12-20", freq="D")
    on_holiday = np.isin(stamps.date, list(holidays.Germany(years=range(2021, 2025))))
    y = 10 + 8 * on_holiday + np.random.default_rng(0).normal(0, 0.3, len(stamps))
    path = tmp_path / "sales.csv"
    pd.DataFrame({"ds": stamps, "y": y}).to_csv(path, index=False)
    config = driven_config(path, "one", **{"data.calendar": ["holiday:de"], "window.lookback": 14})
    assert config.data.calendar == ["holiday:DE"]
    forecaster, _, _ = run(config, progress=False)
    forecast = forecaster.predict(pd.read_csv(path, parse_dates=["ds"])).set_index("ds")["y"]
    # history ends 2024-12-20: the 6 days ahead are 21-26 December, the 25th and 26th holidays
    christmas, before = forecast.loc["2024-12-25":"2024-12-26"], forecast.loc["2024-12-21":"2024-12-24"]
    assert christmas.min() - before.max() > 4.0


def test_a_calendar_feature_that_cannot_change_at_the_datas_step_is_refused(tmp_path):
    from bilstm.data import load_table

    path = tmp_path / "daily.csv"
    frame = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=200, freq="D"), "y": np.arange(200.0)})
    frame.to_csv(path, index=False)
    config = driven_config(path, "one", **{"data.calendar": ["hour"]})
    with pytest.raises(DataValidationError, match=r"calendar feature hour is constant on steps of"):
        load_table(config.data)


def test_a_model_with_a_future_column_trains_serves_and_forecasts_through_the_flows(tracking, tmp_path):
    """The training flow registers it (its pyfunc smoke-tested on one table of history and future rows) and
    logs which inputs it leans on; the forecast flow reads the future data file and records what it read."""
    from mlflow import MlflowClient

    from flows.forecast import forecast_flow
    from flows.train import train_flow

    path = tmp_path / "driven.csv"
    history = driven_frame("one")
    history.to_csv(path, index=False)
    summary = train_flow(driven_config(path, "one", **{"data.future": ["load"], "data.calendar": ["hour"]}))
    client = MlflowClient(tracking, registry_uri=tracking)
    importance = pd.read_csv(client.download_artifacts(summary["run_id"], "importance/permutation.csv"))
    assert importance["input"].iloc[0] == "load" and importance["role"].iloc[0] == "future"
    assert set(importance["input"]) == {"load", "hour", "y"}

    future = tmp_path / "tomorrow.csv"
    future_rows("one", history, 6, load=2.0).to_csv(future, index=False)
    forecast = forecast_flow(data=str(path), output=str(tmp_path / "f.csv"), future_data=str(future))
    table = pd.read_csv(tmp_path / "f.csv")
    assert forecast["rows"] == 6 and table["y"].mean() > history["y"].mean() + 4
    served = mlflow.pyfunc.load_model("models:/bilstm-forecaster@champion").predict(
        pd.concat([history, future_rows("one", history, 6, load=2.0)], ignore_index=True)
    )
    np.testing.assert_allclose(served["y"], table["y"], rtol=1e-5)
    recorded = pd.read_csv(client.download_artifacts(forecast["run_id"], "forecast/forecast.csv"))
    assert (recorded["future_load"] == 2.0).all() and len(recorded) == 6  # the covariates it read


def test_a_sweep_space_chooses_among_covariates_given_as_lists():
    import optuna

    from bilstm.sweep_space import SearchSpace, SweepError

    space = SearchSpace(
        {"data.future": {"choices": [[], ["load"]]}, "data.calendar": {"choices": [[], ["hour"]]}}
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        values = space.suggest(trial)
        seen.add((tuple(values["data.future"]), tuple(values["data.calendar"])))
        study.tell(trial, 0.0)
    assert seen == {((), ()), (("load",), ()), ((), ("hour",)), (("load",), ("hour",))}
    with pytest.raises(
        SweepError, match=r"data.future = 'OT' is not a valid value \(column 'OT' is in data.future"
    ):
        SearchSpace({"data.future": {"choices": [[], ["OT"]]}})
