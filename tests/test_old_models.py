"""Models registered by earlier versions keep loading and forecasting after the code's renames.

`fixtures/model_logged_at_9ac5429.tar.gz` is a registered model's directory as MLflow stores it, logged by
commit 9ac5429 (before `bilstm.bundle` became `bilstm.forecaster` and the network `BiLSTMNet`): the tiny job
on `helpers.synthetic_frame()`, with `history.csv` (the last 48 rows) and `expected.csv` (what that version
forecast from them) beside it. Its pyfunc code imports `Forecaster` from `bilstm.bundle`.
"""

import tarfile
from pathlib import Path

import mlflow
import pandas as pd

ARCHIVE = Path(__file__).parent / "fixtures" / "model_logged_at_9ac5429.tar.gz"


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
