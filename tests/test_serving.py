"""`mlflow models serve` of the champion answers POST /invocations with a forecast and its bands
(real server, by PID)."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from deployments.processes import free_port, stop_group, wait_for
from flows.train import train_flow
from tests.helpers import synthetic_frame


def test_the_champion_serves_forecasts_with_their_bands_over_http(tiny_config, tracking, tmp_path):
    train_flow(tiny_config)
    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ['PATH']}")  # it execs uvicorn by name
    command = [f"{venv_bin}/mlflow", "models", "serve", "-m", "models:/bilstm-forecaster@champion"]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    history = synthetic_frame().tail(48)
    body = {
        "dataframe_split": json.loads(history.astype({"timestamp": str}).to_json(orient="split", index=False))
    }
    with open(tmp_path / "serve.log", "w") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/ping", timeout=120)
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                served = pd.DataFrame(json.loads(response.read())["predictions"])
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
