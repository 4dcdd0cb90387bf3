"""Darts runner (comparison venv): per fold, a `BlockRNNModel` LSTM fitted on the fold's train rows with its
validation rows as `val_series` (early stopping, best checkpoint restored), then `historical_forecasts` over
every stride-1 window of the fold's test rows; with `levels`, the same through `ConformalNaiveModel`.

stdin: the payload of `bench/folds.py:runner_payload` plus `train`, `model` and optional `levels`.
stdout (last line): {"library", "version", "folds": [{"fold", "forecast", "lo", "hi", "epochs_run",
"fit_seconds", "predict_seconds"}]}, forecasts and bands (N, T) in the fold's scaled units.
"""

from __future__ import annotations

import tempfile
import time
import warnings

import darts
import numpy as np
import torch
from common import answer, log, read_payload, rounded, scaled_columns
from darts import TimeSeries
from darts.models import BlockRNNModel, ConformalNaiveModel
from pytorch_lightning.callbacks.early_stopping import EarlyStopping


def new_model(payload: dict, name: str, work_dir: str) -> BlockRNNModel:
    train, model = payload["train"], payload["model"]
    return BlockRNNModel(
        input_chunk_length=payload["lookback"],
        output_chunk_length=payload["horizon"],
        model="LSTM",
        hidden_dim=model["hidden_size"],
        n_rnn_layers=model["num_layers"],
        hidden_fc_sizes=[model["head_size"]],
        dropout=model["dropout"],
        batch_size=train["batch_size"],
        n_epochs=train["epochs"],
        random_state=train["seed"],
        model_name=name,
        work_dir=work_dir,
        save_checkpoints=True,  # so the best epoch on the validation rows can be restored, as ours is
        force_reset=True,
        pl_trainer_kwargs={
            "accelerator": "cpu",
            "callbacks": [EarlyStopping("val_loss", patience=train["patience"])],
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "logger": False,
        },
    )


def band_quantiles(levels: list[float]) -> list[float]:
    tails = sorted((100 - level) / 200 for level in levels)
    return [*tails, 0.5, *sorted(1 - t for t in tails)]


def run_fold(payload: dict, fold: dict, work_dir: str) -> dict:
    lookback, horizon = payload["lookback"], payload["horizon"]
    values = scaled_columns(payload, fold)[: fold["test_end"]].astype(np.float32)
    target = TimeSeries.from_values(values[:, -1:])
    covariates = TimeSeries.from_values(values[:, :-1]) if values.shape[1] > 1 else None
    name = f"fold{fold['fold']}"
    model = new_model(payload, name, work_dir)
    started = time.perf_counter()
    model.fit(
        target[: fold["train_end"]],
        past_covariates=covariates,
        val_series=target[fold["train_end"] - lookback : fold["val_end"]],
        val_past_covariates=covariates,
    )
    epochs_run = model.epochs_trained
    model = BlockRNNModel.load_from_checkpoint(name, work_dir=work_dir, best=True)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    levels = payload.get("levels") or []
    # the conformal model calibrates each forecast on the residuals of every window of `series` whose targets
    # are known by then: from the validation rows on, so that is where the series starts
    first = fold["train_end"] - lookback if levels else fold["val_end"] - lookback
    forecaster = ConformalNaiveModel(model, quantiles=band_quantiles(levels)) if levels else model
    forecasts = forecaster.historical_forecasts(
        target[first:],
        past_covariates=covariates,
        start=fold["val_end"] - first,
        start_format="position",
        forecast_horizon=horizon,
        stride=1,
        retrain=False,
        last_points_only=False,
        overlap_end=False,
        predict_likelihood_parameters=bool(levels),
        verbose=False,
    )
    predict_seconds = time.perf_counter() - started
    # (N, T, q): one value per quantile (median first column when there are none)
    stacked = np.stack([f.values() for f in forecasts])
    result = {
        "fold": fold["fold"],
        "epochs_run": epochs_run,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
    }
    if levels:
        q = len(levels)
        result["forecast"] = rounded(stacked[:, :, q])
        result["lo"] = [rounded(stacked[:, :, q - 1 - i]) for i in range(q)]
        result["hi"] = [rounded(stacked[:, :, q + 1 + i]) for i in range(q)]
    else:
        result["forecast"] = rounded(stacked[:, :, 0])
    log(f"darts fold {fold['fold']}: {epochs_run} epochs, fit {fit_seconds:.0f} s")
    return result


def main() -> None:
    payload = read_payload()
    torch.set_num_threads(payload["train"]["threads"])
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as work_dir:
        folds = [run_fold(payload, fold, work_dir) for fold in payload["folds"]]
    answer({"library": "darts", "version": darts.__version__, "folds": folds})


if __name__ == "__main__":
    main()
