"""The forecaster bundle: save -> load -> identical forecasts, future timestamps after each series' own last
stamp (one series and many), a series the model never saw scaled by its own history, safe loading."""

import dataclasses
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from bilstm.forecaster import Forecaster, ForecastInputError
from tests.helpers import SHAPES, long_frame, shaped_frame


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.helpers import run_tiny_job

    forecaster, _, frame = run_tiny_job(tmp_path_factory.mktemp("data"))
    return forecaster, frame


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
    assert list(forecast.columns)[:3] == ["timestamp", "step", "y"]  # then the bands: test_intervals.py
    assert (forecast["timestamp"] == expected).all()
    assert forecast["step"].tolist() == list(range(1, 13))
    # the forecast from a history equals the last window's forecast over the same rows
    values = frame[["x", "y"]].to_numpy()
    last_window = forecaster.forecast_windows(values[-60:])[-1, :, 0]  # lookback 48 + horizon 12 rows
    np.testing.assert_allclose(forecaster.predict(frame.iloc[:-12])["y"].to_numpy(), last_window, rtol=1e-5)


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
        (
            lambda f: f.assign(timestamp=f.timestamp.dt.tz_localize("UTC")),
            "carry UTC offsets; this model was trained on stamps without offsets",
        ),
    ],
)
def test_bad_history_is_refused_clearly(trained, history, message):
    forecaster, frame = trained
    with pytest.raises(ForecastInputError, match=message):
        forecaster.predict(history(frame))


def zoned(forecaster: Forecaster, zone: str) -> Forecaster:
    """The same network as if trained on stamps in `zone` (it has no cycle: stamps do not reach it)."""
    return dataclasses.replace(forecaster, spec=dataclasses.replace(forecaster.spec, timezone=zone))


def _forms(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One history written in each form a user or MLflow may hand over: its stamps are UTC instants."""
    utc = frame.timestamp.dt.tz_localize("UTC")
    local = utc.dt.tz_convert("+08:00")
    return {
        "+08:00 datetimes": frame.assign(timestamp=local),
        "+08:00 text (the MLflow example)": frame.assign(timestamp=local.astype(str)),
        "Z text": frame.assign(timestamp=utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ")),
        "naive local times": frame.assign(timestamp=local.dt.tz_localize(None)),
        "DatetimeIndex in UTC": frame.drop(columns="timestamp").set_axis(pd.DatetimeIndex(utc)),
    }


@pytest.mark.parametrize("form", list(_forms(pd.DataFrame({"timestamp": pd.to_datetime([])}))))
def test_a_model_with_a_zone_reads_every_stamp_form_and_forecasts_in_its_zone(trained, form):
    forecaster, frame = trained
    forecast = zoned(forecaster, "+08:00").predict(_forms(frame)[form])

    last = frame.timestamp.iloc[-1].tz_localize("UTC")
    assert (forecast.timestamp == pd.date_range(last, periods=13, freq="h")[1:]).all()
    assert forecast.timestamp.astype(str).str.endswith("+08:00").all()
    np.testing.assert_allclose(forecast.y, forecaster.predict(frame).y)


def test_forecast_stamps_follow_daylight_saving_in_a_named_zone(trained):
    forecaster, frame = trained
    utc = pd.date_range(end="2024-03-30 23:00", periods=len(frame), freq="h", tz="UTC")
    history = frame.assign(timestamp=utc.tz_convert("Europe/Berlin").astype(str))

    forecast = zoned(forecaster, "Europe/Berlin").predict(history)

    assert forecast.timestamp.astype(str).tolist()[:3] == [
        "2024-03-31 01:00:00+01:00",
        "2024-03-31 03:00:00+02:00",  # 02:00 does not exist: the clocks skip it
        "2024-03-31 04:00:00+02:00",
    ]


def test_a_bundle_keeps_its_zone_and_an_older_bundle_reads_as_naive(trained, tmp_path):
    forecaster, frame = trained
    bundle = zoned(forecaster, "+08:00").save(tmp_path / "bundle")
    assert Forecaster.load(bundle).spec.timezone == "+08:00"

    meta = json.loads((bundle / "forecaster.json").read_text())
    del meta["spec"]["timezone"]
    meta["format_version"] = 2
    (bundle / "forecaster.json").write_text(json.dumps(meta))
    older = Forecaster.load(bundle)
    assert older.spec.timezone is None
    pd.testing.assert_frame_equal(older.predict(frame), forecaster.predict(frame))


class _Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_tampered_weights_do_not_execute_code(trained, tmp_path):
    forecaster, _ = trained
    bundle = forecaster.save(tmp_path / "bundle")
    (bundle / "weights.pt").write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(
        ForecastInputError, match=r"weights\.pt: not a weights file \(damaged, or a pickle"
    ) as error:
        Forecaster.load(bundle)
    assert "weights_only" not in str(error.value)


def test_a_bundle_without_its_weights_file_is_refused_naming_the_file(trained, tmp_path):
    forecaster, _ = trained
    bundle = forecaster.save(tmp_path / "bundle")
    (bundle / "weights.pt").unlink()
    with pytest.raises(
        ForecastInputError, match=rf"{tmp_path}/bundle/weights\.pt: the bundle's weights file is"
    ):
        Forecaster.load(bundle)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_saved_forecaster_forecasts_each_series_after_its_own_last_stamp(trained_on, tmp_path, shape):
    forecaster, _ = trained_on(shape)
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    history = shaped_frame(shape)
    table = loaded.predict(history)
    ids = ["id"] if shape == "many" else []  # a file of one series gets no id column
    assert list(table.columns[: len(ids) + 3]) == [*ids, "ds", "step", "y"]
    np.testing.assert_allclose(table["y"].to_numpy(), forecaster.predict(history)["y"].to_numpy(), rtol=1e-6)
    table, history = table.assign(id=table.get("id", "a")), history.assign(id=history.get("id", "a"))
    assert table.groupby("id").size().to_dict() == dict.fromkeys(history.id.unique(), 12)
    firsts = table[table.step == 1].set_index("id")["ds"]
    assert (firsts == history.groupby("id")["ds"].max() + pd.Timedelta(hours=1)).all()


def test_an_unknown_series_is_scaled_by_its_own_history_and_a_short_one_is_named(trained_on):
    forecaster, _ = trained_on("many")
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
