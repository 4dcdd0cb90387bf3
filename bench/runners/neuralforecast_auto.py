"""NeuralForecast `AutoLSTM` runner (comparison venv): a hyperparameter search with the Optuna backend (a TPE
sampler) over NeuralForecast's default AutoLSTM space, except the input size (the project's lookback) and the
steps per trial (the payload's budget), on one fold's target alone: each trial trained on the fold's train
rows and scored on its validation rows (`val_size`), the best config retrained on the train rows again
(`refit_with_val`, as the project's sweep retrains on the train split), then forecasting every stride-1
window of the fold's test rows (`test_size`, `step_size=1`) through `NeuralForecast.cross_validation`.

stdin: the payload of `bench/folds.py:runner_payload` (one fold) plus `trials`, `max_steps`,
`windows_batch_size`, `seed` and `time_budget` (seconds or null).
stdout (last line): {"library", "version", "forecast" (N, T) scaled, "best_value", "best_config",
"trials": [{"number", "value", "seconds", "params"}], "tune_fit_predict_seconds"}.
"""

from __future__ import annotations

import logging
import time
import warnings

import neuralforecast
import numpy as np
import optuna
import pandas as pd
import torch
from common import answer, log, read_payload, rounded, scaled_columns
from neuralforecast import NeuralForecast
from neuralforecast.auto import AutoLSTM
from neuralforecast.losses.pytorch import MSE

# the trainer's settings: no search dimension, no result
FIXED = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False, "logger": False}


def search_space(payload: dict):
    """NeuralForecast's default AutoLSTM space as an Optuna function, with the input size fixed to the
    project's lookback (its default draws from 3, 4, 16 or 64 horizons: up to 6144 recurrent steps, far
    beyond a CPU budget) and a fixed number of steps per trial (its default draws 500 or 1000)."""
    default = AutoLSTM.get_default_config(h=payload["horizon"], backend="optuna")
    fixed = FIXED | {
        "input_size": payload["lookback"],
        "inference_input_size": payload["lookback"],
        "max_steps": payload["max_steps"],
        "windows_batch_size": payload["windows_batch_size"],  # its default, stated: max_steps counts these
        "val_check_steps": payload["max_steps"],  # validate once, at the end: the objective
    }

    def config(trial: optuna.Trial) -> dict:
        return default(trial) | fixed

    return config


def used_params(trial: optuna.trial.FrozenTrial) -> dict:
    """The config a trial trained with: what Optuna drew, with the fixed settings in place of the draws they
    replace (NeuralForecast records the merged config as the `ALL_PARAMS` user attribute)."""
    used = trial.user_attrs["ALL_PARAMS"]
    return {key: value for key, value in used.items() if key not in FIXED and value is not None}


def main() -> None:
    payload = read_payload()
    torch.set_num_threads(payload["train"]["threads"])
    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning_fabric").setLevel(logging.ERROR)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    (fold,) = payload["folds"]
    horizon = payload["horizon"]
    target = scaled_columns(payload, fold)[: fold["test_end"], -1]
    frame = pd.DataFrame({"unique_id": "series", "ds": np.arange(len(target)), "y": target})
    model = AutoLSTM(
        h=horizon,
        loss=MSE(),
        config=search_space(payload),
        search_alg=optuna.samplers.TPESampler(seed=payload["seed"]),
        num_samples=payload["trials"],
        time_budget=payload["time_budget"],  # no trial starts after it: fewer trials
        refit_with_val=True,
        backend="optuna",
    )
    forecaster = NeuralForecast(models=[model], freq=1)
    started = time.perf_counter()
    result = forecaster.cross_validation(
        frame,
        n_windows=None,
        test_size=fold["test_end"] - fold["val_end"],
        step_size=1,
        val_size=fold["val_end"] - fold["train_end"],
        refit=False,
    )
    seconds = time.perf_counter() - started
    result = result.sort_values(["cutoff", "ds"])
    forecast = result["AutoLSTM"].to_numpy().reshape(-1, horizon)
    study = forecaster.models[0].results
    trials = [
        {
            "number": trial.number,
            "value": trial.value,
            "seconds": (trial.datetime_complete - trial.datetime_start).total_seconds(),
            "params": used_params(trial),
        }
        for trial in study.trials
    ]
    log(f"neuralforecast AutoLSTM: {len(trials)} trials, best {study.best_value:.4f}, {seconds:.0f} s")
    answer(
        {
            "library": "neuralforecast",
            "version": neuralforecast.__version__,
            "optuna_version": optuna.__version__,
            "forecast": rounded(forecast),
            "first_cutoff": int(result["cutoff"].iloc[0]),
            "best_value": study.best_value,
            "best_config": used_params(study.best_trial),
            "trials": trials,
            "tune_fit_predict_seconds": seconds,
        }
    )


if __name__ == "__main__":
    main()
