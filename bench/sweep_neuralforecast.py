"""NeuralForecast's `AutoLSTM` (Optuna backend, its TPE sampler) on the trial budget of `bench/sweep.py`, on
`etth1-s96`'s data: ETTh1's target OT alone (setting S), horizon 96, the ETT split. Each trial trains on the
train rows and is scored on the validation rows; the best config is retrained on the train rows and forecasts
every stride-1 window of the test rows, scored here against the same scaled truth as the project's
(`bench/folds.py`: the train rows' standard scaler). Printed beside `bilstm sweep`'s runs from
bench/sweep.json; the results go to bench/sweep-neuralforecast.json.

    python bench/sweep_neuralforecast.py                        # 20 trials, the preset's 5 epochs each
    python bench/sweep_neuralforecast.py --trials 2 --max-steps 20   # a quick check of the whole path

NeuralForecast runs in its own venv and process (`bench/compare_env.py`), torch on one thread as the
project's trials are. Its space is NeuralForecast's default AutoLSTM space (hidden and decoder sizes, layers,
context size, learning rate, batch size, seed) with two things fixed: the input size at the preset's lookback,
336 (the default draws 3, 4, 16 or 64 horizons: up to 6144 recurrent steps) and the steps per trial (the
default draws 500 or 1000 steps of 128 windows: 8 to 16 epochs), by default the preset's 5 epochs of train
windows, so that 20 trials fit this 2-core machine in minutes. Optuna still draws the two replaced values
(unused); the JSON gives each trial's config as trained.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import compare_env
import numpy as np
from folds import runner_payload, scaled_truth

from bilstm import pipeline
from bilstm.config import PipelineConfig
from bilstm.data import load_series
from bilstm.defaults import resolve
from bilstm.malloc_tuning import reexec_with_tuned_malloc
from bilstm.presets import load_preset

PRESET = "etth1-s96"
SWEEP = Path(__file__).with_name("sweep.json")
WINDOWS_PER_STEP = 128  # NeuralForecast's windows_batch_size default: the windows one optimiser step sees


def auto_lstm(trials: int, max_steps: int | None, seed: int) -> dict:
    config = PipelineConfig.model_validate(load_preset(PRESET))
    series = load_series(config.data)
    config = resolve(config, series).config
    split = pipeline.split_and_scale(series, config).split
    if max_steps is None:
        # the preset's epochs over the train windows, so a trial sees as many windows as one of ours
        train_windows = split.train_end - config.window.lookback - config.window.horizon + 1
        max_steps = config.train.epochs * math.ceil(train_windows / WINDOWS_PER_STEP)
    print(f"AutoLSTM: {trials} trials of {max_steps} steps of {WINDOWS_PER_STEP} windows", flush=True)
    payload = runner_payload(series, config, [split])
    payload |= {"trials": trials, "max_steps": max_steps, "seed": seed}
    payload |= {"windows_batch_size": WINDOWS_PER_STEP}
    result = compare_env.run("neuralforecast_auto.py", payload)
    if result.output is None:
        return {"error": result.error, "wall_seconds": result.wall_seconds}
    answer = result.output
    truth = scaled_truth(series, split, config.window.horizon)
    forecast = np.asarray(answer["forecast"])
    if forecast.shape != truth.shape or answer["first_cutoff"] != split.val_end - 1:
        raise RuntimeError(
            f"AutoLSTM forecast {forecast.shape} from cutoff {answer['first_cutoff']} does not match the test"
            f" windows {truth.shape} from {split.val_end - 1}"
        )
    return {
        "version": answer["version"],
        "optuna_version": answer["optuna_version"],
        "wall_seconds": result.wall_seconds,
        "tune_fit_predict_seconds": answer["tune_fit_predict_seconds"],
        "trials": answer["trials"],
        "best_value": answer["best_value"],
        "best_config": answer["best_config"],
        "test_mse_scaled": float(np.mean((forecast - truth) ** 2)),
        "test_windows": len(truth),
        "max_steps": max_steps,
        "split": {"train_end": split.train_end, "val_end": split.val_end, "test_end": split.test_end},
    }


def print_table(row: dict, settings: dict, sweep: dict) -> None:
    reduced = settings["trials"] != 20
    print(
        f"{PRESET}: {settings['trials']} trials each"
        + ("  [REDUCED: the issue's budget is 20 trials]" if reduced else "")
    )
    header = f"{'':<44}{'wall s':>8}{'trials':>8}{'pruned':>8}{'best val':>10}{'test MSE':>10}"
    print(header)
    print("-" * len(header))
    for run in sweep["runs"]:
        label = f"bilstm sweep --workers {run['workers']} ({sweep['date']})"
        print(
            f"{label:<44}{run['command_s']:>8.0f}{run['trials']:>8}{run['pruned']:>8}"
            f"{run['best_value']:>10.4f}{run['test_mse_scaled']:>10.4f}"
        )
    label = f"NeuralForecast AutoLSTM, {row.get('max_steps', '?')} steps/trial"
    if "error" in row:
        print(f"{label:<44}failed: {row['error'][:200]}")
        return
    print(
        f"{label:<44}{row['wall_seconds']:>8.0f}{len(row['trials']):>8}{0:>8}"
        f"{row['best_value']:>10.4f}{row['test_mse_scaled']:>10.4f}"
    )
    print(
        "wall s: the command (bilstm) or the runner process (AutoLSTM), start to exit, each trial on one"
        " torch thread. best val (scaled MSE): bilstm, the best trial's mean over 2 rolling-origin folds"
        " before the test split; AutoLSTM, the best trial's MSE on the validation rows (its single"
        f" hold-out). test MSE (scaled): the retrained best config on all {row['test_windows']} test windows."
    )
    print(f"AutoLSTM best config: {row['best_config']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="AutoLSTM num_samples")
    parser.add_argument(
        "--max-steps", type=int, help="optimiser steps per trial [default: the preset's epochs of windows]"
    )
    parser.add_argument("--seed", type=int, default=1, help="the TPE sampler's seed")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("sweep-neuralforecast.json"))
    args = parser.parse_args()
    if args.trials < 1 or (args.max_steps is not None and args.max_steps < 1):
        parser.error("--trials and --max-steps must be at least 1")
    reexec_with_tuned_malloc()
    status = compare_env.ensure(["neuralforecast"])
    settings = {"trials": args.trials, "max_steps": args.max_steps, "seed": args.seed, "preset": PRESET}
    if status["neuralforecast"]:
        row = {"error": f"not run, {status['neuralforecast']}"}
    else:
        row = auto_lstm(args.trials, args.max_steps, args.seed)
    sweep = json.loads(SWEEP.read_text())
    print_table(row, settings, sweep)
    compare_env.save_results(args.json, "sweep_neuralforecast.py", status, [row | {"settings": settings}])


if __name__ == "__main__":
    main()
