"""The forecaster bundle: save -> load -> identical forecasts, future timestamps, safe loading."""

import pickle

import numpy as np
import pandas as pd
import pytest

from bilstm.bundle import Forecaster, ForecastInputError
from bilstm.pipeline import run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.conftest import synthetic_frame, tiny

    path = tmp_path_factory.mktemp("data") / "series.csv"
    synthetic_frame().to_csv(path, index=False)
    config = tiny(
        **{"data.path": str(path), "data.time_column": "timestamp", "data.targets": ["y"], "train.epochs": 1}
    )
    forecaster, _, _ = run(config, progress=False)
    return forecaster, pd.read_csv(path, parse_dates=["timestamp"])


def test_save_load_gives_identical_forecasts(trained, tmp_path):
    forecaster, frame = trained
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    pd.testing.assert_frame_equal(loaded.predict(frame), forecaster.predict(frame))
    values = frame[["x", "y"]].to_numpy()[-200:]
    np.testing.assert_array_equal(loaded.forecast_windows(values), forecaster.forecast_windows(values))
    assert {p.name for p in (tmp_path / "bundle").iterdir()} == {"forecaster.json", "weights.pt"}


def test_predict_returns_future_timestamps_at_the_series_frequency(trained):
    forecaster, frame = trained
    forecast = forecaster.predict(frame)
    expected = pd.date_range(frame.timestamp.iloc[-1], periods=13, freq="h")[1:]
    assert list(forecast.columns) == ["timestamp", "step", "y"]
    assert (forecast["timestamp"] == expected).all()
    assert forecast["step"].tolist() == list(range(1, 13))
    assert np.isfinite(forecast["y"]).all()


def test_predict_uses_only_the_last_lookback_rows(trained):
    forecaster, frame = trained
    pd.testing.assert_frame_equal(forecaster.predict(frame), forecaster.predict(frame.iloc[-48:]))


@pytest.mark.parametrize(
    ("history", "message"),
    [
        (lambda f: f.iloc[-10:], "has 10 rows; the model needs the last 48"),
        (lambda f: f.drop(columns="x"), r"lacks column\(s\) x"),
        (lambda f: f.assign(y=np.where(f.index == f.index[-1], np.nan, f.y)), "NaN or inf"),
        (lambda f: f.drop(columns="timestamp"), "no time column 'timestamp'"),
    ],
)
def test_bad_history_is_refused_clearly(trained, history, message):
    forecaster, frame = trained
    with pytest.raises(ForecastInputError, match=message):
        forecaster.predict(history(frame))


class _Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_tampered_weights_do_not_execute_code(trained, tmp_path):
    forecaster, _ = trained
    bundle = forecaster.save(tmp_path / "bundle")
    (bundle / "weights.pt").write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(pickle.UnpicklingError):
        Forecaster.load(bundle)
