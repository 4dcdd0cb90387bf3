"""Nonnegative targets (`data.nonnegative`): which targets auto floors, forecasts and bands of counts near
zero floored at 0 in `predict` and in the evaluation, nothing floored with false, and the choice kept in the
bundle (a bundle from before it floors nothing), for a model of many series too."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from bilstm.config import PipelineConfig
from bilstm.evaluation import evaluate
from bilstm.forecaster import Forecaster
from bilstm.nonnegative import floored_targets
from bilstm.pipeline import run
from tests.helpers import long_frame, tiny


def counts_frame(rows: int = 480) -> pd.DataFrame:
    """Hourly counts near zero: mostly 0 at night, a few in the day, and a feature that follows the day."""
    rng = np.random.default_rng(7)
    day = np.maximum(np.sin(2 * np.pi * np.arange(rows) / 24), 0)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "x": day + rng.normal(0, 0.1, rows),
            "y": rng.poisson(0.2 + 2 * day).astype(float),
        }
    )


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    """The tiny job trained on the counts (one epoch), untracked: (forecaster, evaluation, frame)."""
    path = tmp_path_factory.mktemp("counts") / "counts.csv"
    frame = counts_frame()
    frame.to_csv(path, index=False)
    settings = {"data.path": str(path), "data.time_column": "timestamp", "data.targets": ["y"]}
    forecaster, _, evaluation = run(tiny(**settings, **{"train.epochs": 1}), progress=False)
    return forecaster, evaluation, frame


def test_auto_floors_the_counts_true_all_false_none():
    known = np.array([[0.0, -1.0, 3.0], [2.0, 5.0, 0.5]])  # a: counts; b: negative; c: positive, not whole
    assert floored_targets("auto", known, ["a", "b", "c"]) == ["a"]
    assert floored_targets(True, known, ["a", "b", "c"]) == ["a", "b", "c"]
    assert floored_targets(False, known, ["a", "b", "c"]) == []
    assert PipelineConfig().data.nonnegative == "auto"
    with pytest.raises(ValidationError, match="Input should be 'auto', True or False"):
        PipelineConfig.model_validate({"data": {"nonnegative": "maybe"}})


def test_counts_near_zero_get_no_negative_forecast_or_band_and_false_may(counts):
    forecaster, evaluation, frame = counts
    assert forecaster.nonnegative == ["y"]
    assert (evaluation.forecast >= 0).all()
    assert all((lo >= 0).all() and (hi >= 0).all() for lo, hi in evaluation.bands.values())
    forecast = forecaster.predict(frame)
    assert (forecast.drop(columns=["timestamp", "step"]) >= 0).all().all()
    nested = ["y_lo_95", "y_lo_80", "y", "y_hi_80", "y_hi_95"]
    assert (forecast[nested].diff(axis=1).iloc[:, 1:] >= 0).all().all()

    # the same network without the floor (data.nonnegative false): bands below zero around the night's zeros
    unfloored = dataclasses.replace(forecaster, nonnegative=[])
    rows = frame.iloc[evaluation.first_rows[0] - forecaster.spec.lookback :]
    values, times = rows[["x", "y"]].to_numpy(), pd.DatetimeIndex(rows["timestamp"])
    point = unfloored.forecast_windows(values, times)
    lo, _ = unfloored.bands(point, unfloored.input_windows(values, times)[: len(point)])[95]
    assert (lo < 0).any()
    np.testing.assert_array_equal(np.maximum(point, 0), evaluation.forecast)


def test_the_bundle_keeps_the_floored_targets_and_one_from_before_floors_nothing(counts, tmp_path):
    forecaster, _, frame = counts
    bundle = forecaster.save(tmp_path / "bundle")
    assert Forecaster.load(bundle).nonnegative == ["y"]

    meta = json.loads((bundle / "forecaster.json").read_text())
    del meta["nonnegative"]
    (bundle / "forecaster.json").write_text(json.dumps(meta))
    older = Forecaster.load(bundle)
    assert older.nonnegative == []
    pd.testing.assert_frame_equal(
        older.predict(frame), dataclasses.replace(forecaster, nonnegative=[]).predict(frame)
    )


def test_a_floored_model_of_many_series_keeps_every_series_and_band_at_zero(trained_on, tmp_path):
    forecaster, prepared = trained_on("many")
    # positive but not counts: auto leaves them; floored (data.nonnegative true), the bundle keeps it
    assert forecaster.nonnegative == []
    loaded = Forecaster.load(dataclasses.replace(forecaster, nonnegative=["y"]).save(tmp_path / "floored"))
    assert loaded.nonnegative == ["y"]
    history = long_frame()
    low = history[history.id == "a"].assign(id="low", y=lambda f: f.y - 12)  # a series that dips below 0
    floored = loaded.predict(pd.concat([history, low]))
    assert (floored.drop(columns=["id", "ds", "step"]) >= 0).all().all()
    assert all((lo >= 0).all() for lo, _ in evaluate(loaded, prepared).bands.values())
    unfloored = dataclasses.replace(loaded, nonnegative=[]).predict(pd.concat([history, low]))
    assert (unfloored[unfloored.id == "low"][["y", "y_lo_80"]] < 0).any().all()
