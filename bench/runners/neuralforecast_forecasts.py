"""NeuralForecast runner (comparison venv): per fold, `NeuralForecast.cross_validation` with an `LSTM` on the
fold's rows: trained on its train rows with its validation rows for early stopping (`val_size`), then
forecasting every stride-1 window of its test rows (`test_size`, `step_size=1`, `refit=False`: one model per
fold, refit per fold by calling it again).

stdin: the payload of `bench/folds.py:runner_payload` plus `train` and `model`.
stdout (last line): {"library", "version", "folds": [{"fold", "forecast", "steps", "fit_predict_seconds"}]},
forecasts (N, T) in the fold's scaled units.
"""

from __future__ import annotations

import logging
import math
import time
import warnings

import neuralforecast
import numpy as np
import pandas as pd
import torch
from common import answer, log, read_payload, rounded, scaled_columns
from neuralforecast import NeuralForecast
from neuralforecast.losses.pytorch import MSE
from neuralforecast.models import LSTM


def new_model(payload: dict, features: list[str], steps_per_epoch: int) -> LSTM:
    train, model = payload["train"], payload["model"]
    return LSTM(
        h=payload["horizon"],
        input_size=payload["lookback"],
        encoder_n_layers=model["num_layers"],
        encoder_hidden_size=model["hidden_size"],
        encoder_dropout=model["dropout"],
        decoder_hidden_size=model["head_size"],
        hist_exog_list=features or None,
        loss=MSE(),
        # NeuralForecast counts optimiser steps, not epochs: an epoch is a pass over the train windows
        max_steps=train["epochs"] * steps_per_epoch,
        val_check_steps=steps_per_epoch,
        early_stop_patience_steps=train["patience"],
        windows_batch_size=train["batch_size"],
        random_seed=train["seed"],
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
    )


def run_fold(payload: dict, fold: dict) -> dict:
    lookback, horizon = payload["lookback"], payload["horizon"]
    values = scaled_columns(payload, fold)[: fold["test_end"]]
    features = payload["columns"][:-1]
    frame = pd.DataFrame(values[:, :-1], columns=features)
    frame.insert(0, "y", values[:, -1])
    frame.insert(0, "ds", np.arange(len(frame)))
    frame.insert(0, "unique_id", "series")
    train_windows = fold["train_end"] - lookback - horizon + 1
    steps_per_epoch = math.ceil(train_windows / payload["train"]["batch_size"])
    forecaster = NeuralForecast(models=[new_model(payload, features, steps_per_epoch)], freq=1)
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
    forecast = result["LSTM"].to_numpy().reshape(-1, horizon)
    trained = forecaster.models[0].train_trajectories  # (step, loss) of every optimiser step
    steps = trained[-1][0] + 1 if trained else 0
    log(f"neuralforecast fold {fold['fold']}: {steps} steps of {steps_per_epoch} per epoch, {seconds:.0f} s")
    return {
        "fold": fold["fold"],
        "forecast": rounded(forecast),
        "first_cutoff": int(result["cutoff"].iloc[0]),
        "steps": steps,
        "steps_per_epoch": steps_per_epoch,
        "fit_predict_seconds": seconds,
    }


def main() -> None:
    payload = read_payload()
    torch.set_num_threads(payload["train"]["threads"])
    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    folds = [run_fold(payload, fold) for fold in payload["folds"]]
    answer({"library": "neuralforecast", "version": neuralforecast.__version__, "folds": folds})


if __name__ == "__main__":
    main()
