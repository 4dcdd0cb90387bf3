"""`mlflow models serve` of the champion answers POST /invocations with a forecast and its bands (real
server, by PID), and a history it cannot forecast from with HTTP 400 and the forecaster's one line (MLflow's
scoring function in-process, and the real server for one case)."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server

from bilstm.stamps import as_text
from deployments.processes import free_port, stop_group, wait_for
from flows.train import train_flow
from tests.helpers import run_tiny_job, synthetic_frame
from tracking.models import PYFUNC_MODEL, signature

SHORT = "history has 10 rows; the model needs the last 48"


def request_body(history: pd.DataFrame) -> bytes:
    """A `dataframe_split` request of `history`, its stamps as text."""
    split = json.loads(history.astype({"timestamp": str}).to_json(orient="split", index=False))
    return json.dumps({"dataframe_split": split}).encode()


@pytest.fixture(scope="module")
def pyfunc_model(tmp_path_factory):
    """The tiny job's forecaster saved as the pyfunc model a registration logs, loaded back; and its data."""
    folder = tmp_path_factory.mktemp("pyfunc")
    forecaster, _, frame = run_tiny_job(folder)
    example = as_text(frame.tail(48).reset_index(drop=True), None)  # as `tracking.models.history_example`
    bundle = forecaster.save(folder / "bundle")
    mlflow.pyfunc.save_model(
        folder / "model",
        python_model=PYFUNC_MODEL,
        artifacts={"bundle": str(bundle)},
        signature=signature(forecaster, example),
        input_example=example,
    )
    return mlflow.pyfunc.load_model(str(folder / "model")), frame


@pytest.mark.parametrize(
    ("bad", "line"),
    [
        (lambda f: f.tail(10), SHORT),
        (
            lambda f: f.tail(48).assign(y=np.nan),
            "history has NaN or inf in the last 48 rows; fill them first",
        ),
        (
            lambda f: f.tail(48).rename(columns={"x": "temperature"}),
            "history lacks column(s) x that the model was trained on (x, y)",
        ),
    ],
    ids=["too short", "NaN", "other columns"],
)
def test_a_history_the_model_refuses_is_answered_400_with_its_one_line_alone(pyfunc_model, bad, line):
    model, frame = pyfunc_model
    with pytest.raises(MlflowException) as refused:
        model.predict(bad(frame))
    assert refused.value.message == line

    # what `mlflow models serve` runs for POST /invocations: no input frame, no stack trace in the answer
    with pytest.raises(MlflowException) as answered:
        body = request_body(bad(frame))
        scoring_server.invocations(body, "application/json", model, model.metadata.get_input_schema())
    assert answered.value.get_http_status_code() == 400
    body = json.loads(answered.value.serialize_as_json())
    assert body["message"] == line and "stack_trace" not in body


def test_the_champion_serves_forecasts_with_their_bands_over_http(tiny_config, tracking, tmp_path):
    train_flow(tiny_config)
    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ['PATH']}")  # it execs uvicorn by name
    command = [f"{venv_bin}/mlflow", "models", "serve", "-m", "models:/bilstm-forecaster@champion"]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    history = synthetic_frame().tail(48)
    with open(tmp_path / "serve.log", "w") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/ping", timeout=120)
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations",
                data=request_body(history),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                served = pd.DataFrame(json.loads(response.read())["predictions"])
            short = urllib.request.Request(
                request.full_url, data=request_body(history.tail(10)), headers=request.headers
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(short, timeout=60)
            refusal = (refused.value.code, json.loads(refused.value.read()))
        finally:
            stop_group(server)

    expected = mlflow.pyfunc.load_model("models:/bilstm-forecaster@champion").predict(history)
    assert served["step"].tolist() == list(range(1, 13))
    assert (pd.to_datetime(served["timestamp"]) == expected["timestamp"].to_numpy()).all()
    np.testing.assert_allclose(served["y"], expected["y"], rtol=1e-5)
    # the bands come over HTTP too, beside the target, nested around the point forecast
    bands = ["y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"]
    assert served.columns.tolist() == ["timestamp", "step", "y", *bands] == expected.columns.tolist()
    np.testing.assert_allclose(served[bands], expected[bands], rtol=1e-5)
    nested = served[["y_lo_95", "y_lo_80", "y", "y_hi_80", "y_hi_95"]].to_numpy()
    assert (np.diff(nested, axis=1) >= 0).all()
    # a history too short: 400, the forecaster's line as the message, no stack trace
    assert refusal[0] == 400 and refusal[1]["message"] == SHORT and "stack_trace" not in refusal[1]
