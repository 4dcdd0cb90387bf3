"""Two `bilstm train` started together on a fresh machine: a new PREFECT_HOME (each command starts its own
temporary Prefect server on the same new database) and no MLflow store yet (both create `mlflow.db` in the
working directory). Both succeed, both register, and the better one is the champion."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from mlflow import MlflowClient

from tests.helpers import BILSTM, tiny_args


@pytest.mark.slow
def test_two_trains_started_together_on_a_fresh_machine_both_register_and_the_better_is_champion(
    synthetic_csv, tmp_path
):
    fresh = ("PREFECT_API_URL", "PREFECT_UI_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    env = {k: v for k, v in os.environ.items() if k not in fresh} | {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "BILSTM_HOME": str(tmp_path / "bilstm-home"),
        "BILSTM_MALLOC_TUNING": "0",
    }
    command = [BILSTM, "train", "--data", synthetic_csv, *tiny_args(), "--json"]
    runs = [
        subprocess.Popen(
            command + seed, cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for seed in ([], ["--set", "train.seed=1"])
    ]
    outputs = [run.communicate(timeout=600) for run in runs]

    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr[-3000:]
    summaries = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    versions = client.search_model_versions("name='bilstm-forecaster'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    # the champion is the better of the two (both may keep the same warm start: then either is)
    mse = {str(s["model_version"]): s["metrics"]["test_mse_scaled"] for s in summaries}
    champion = client.get_model_version_by_alias("bilstm-forecaster", "champion")
    assert mse[str(champion.version)] == min(mse.values())
    # both took the store's creation lock in the .bilstm/ state folder: none is left in the working directory
    assert not (tmp_path / "mlflow.db.lock").exists()
