"""Models registered by earlier versions keep loading and forecasting after the code's renames.

`fixtures/model_logged_at_9ac5429.tar.gz` is a registered model's directory as MLflow stores it, logged by
commit 9ac5429 (before `bilstm.bundle` became `bilstm.forecaster` and the network `BiLSTMNet`): the tiny job
on `helpers.synthetic_frame()`, with `history.csv` (the last 48 rows) and `expected.csv` (what that version
forecast from them) beside it. Its pyfunc code imports `Forecaster` from `bilstm.bundle`.

`fixtures/{one,many}_series_model_logged_at_f633c98.tar.gz` were logged by commit f633c98, the last with a
separate pipeline for many series: `bilstm train` of the tiny job on `helpers.synthetic_frame()` (bundle
format 4) and on `tests.helpers.long_frame()` with `--series-column id` (format 5), each with the history it
forecast from and what it forecast.
"""

import tarfile
from pathlib import Path

import mlflow
import pandas as pd
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ARCHIVE = FIXTURES / "model_logged_at_9ac5429.tar.gz"


def test_a_model_logged_before_the_renames_loads_and_forecasts_what_it_did(tmp_path):
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(tmp_path, filter="data")
    assert "from bilstm.bundle import Forecaster" in (tmp_path / "pyfunc_model.py").read_text()

    model = mlflow.pyfunc.load_model(str(tmp_path))
    forecast = model.predict(pd.read_csv(tmp_path / "history.csv", parse_dates=["timestamp"]))

    expected = pd.read_csv(tmp_path / "expected.csv", parse_dates=["timestamp"])
    # float32 sums in another thread layout differ in the last digits; a model that failed to load its
    # weights would be off in the first
    pd.testing.assert_frame_equal(forecast, expected, check_dtype=False, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind, time_column", [("one_series", "timestamp"), ("many_series", "ds")])
def test_a_model_logged_before_one_pipeline_for_every_shape_forecasts_what_it_did(
    tmp_path, kind, time_column
):
    with tarfile.open(FIXTURES / f"{kind}_model_logged_at_f633c98.tar.gz") as archive:
        archive.extractall(tmp_path, filter="data")

    model = mlflow.pyfunc.load_model(str(tmp_path))
    forecast = model.predict(pd.read_csv(tmp_path / "history.csv", parse_dates=[time_column]))

    expected = pd.read_csv(tmp_path / "expected.csv", parse_dates=[time_column])
    pd.testing.assert_frame_equal(forecast, expected, check_dtype=False, rtol=1e-5, atol=1e-5)
