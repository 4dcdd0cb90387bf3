"""NeuralForecast's `AutoLSTM` (Optuna backend, its TPE sampler) on the trial budget of `bench/sweep.py`, on
`etth1-s96`'s data: ETTh1's target OT alone (setting S), horizon 96, the ETT split. Each trial trains on the
train rows and is scored on the validation rows; the best config is retrained on the train rows and forecasts
every stride-1 window of the test rows, scored here against the same scaled truth as the project's
(`bench/folds.py`: the train rows' standard scaler). Printed beside `bilstm sweep`'s runs from
bench/sweep.json; the results go to bench/sweep-neuralforecast.json.

    python bench/sweep_neuralforecast.py                        # 20 trials of 150 steps each
    python bench/sweep_neuralforecast.py --trials 2 --max-steps 20   # a quick check of the whole path

NeuralForecast runs in its own venv and process (`bench/compare_env.py`), torch on one thread as the
project's trials are. Its space is NeuralForecast's default AutoLSTM space (encoder width 16-128 and 1-3
layers, context size, decoder width, learning rate 1e-4 to 1e-1 log, batch size, seed) with two draws
replaced: the input size by the preset's lookback, 336 (the default draws 288, 384, 1536 or 6144 steps), and
the steps per trial (the default draws 500 or 1000 steps of 128 windows, 8 to 16 epochs of the 8209 train
windows) by 150 steps (2.3 epochs; the preset trains 5 per fold), so that 20 trials fit in about 15 minutes
on this 2-core machine. Optuna still draws the replaced values (unused); the JSON gives each trial's config
as trained. There is no pruner: AutoLSTM's Optuna objective reports one validation loss per trial.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import compare_env
import numpy as np
from folds import runner_payload, scaled_truth

from bilstm import pipeline
from bilstm.config import PipelineConfig
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.presets import load_preset
from deployments.malloc_tuning import reexec_with_tuned_malloc

PRESET = "etth1-s96"
SWEEP = Path(__file__).with_name("sweep.json")
WINDOWS_PER_STEP = 128  # NeuralForecast's windows_batch_size default: the windows one optimiser step sees


def auto_lstm(trials: int, max_steps: int, seed: int, time_budget: float | None) -> dict:
    config = PipelineConfig.model_validate(load_preset(PRESET))
    series = load_table(config.data)
    config = resolve(config, series).config
    split = pipeline.split_and_scale(series, config).split
    train_end, val_end, test_end = split.borders()
    train_windows = train_end - config.window.lookback - config.window.horizon + 1
    epochs = max_steps * WINDOWS_PER_STEP / train_windows
    print(f"AutoLSTM: {trials} trials of {max_steps} steps ({epochs:.1f} epochs of windows)", flush=True)
    payload = runner_payload(series, config, [split])
    payload |= {"trials": trials, "max_steps": max_steps, "seed": seed, "time_budget": time_budget}
    payload |= {"windows_batch_size": WINDOWS_PER_STEP}
    result = compare_env.run("neuralforecast_auto.py", payload)
    if result.output is None:
        return {"error": result.error, "wall_seconds": result.wall_seconds}
    answer = result.output
    truth = scaled_truth(series, split, config.window.horizon)
    forecast = np.asarray(answer["forecast"])
    if forecast.shape != truth.shape or answer["first_cutoff"] != val_end - 1:
        raise RuntimeError(
            f"AutoLSTM forecast {forecast.shape} from cutoff {answer['first_cutoff']} does not match the test"
            f" windows {truth.shape} from {val_end - 1}"
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
        "epochs_per_trial": epochs,
        "split": {"train_end": train_end, "val_end": val_end, "test_end": test_end},
    }


def print_table(row: dict, settings: dict, sweep: dict) -> None:
    done = len(row.get("trials", []))
    reduced = settings["trials"] != 20 or done != settings["trials"]
    print(
        f"{PRESET}: bilstm sweep's 20 trials; AutoLSTM {done} of {settings['trials']}"
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
    label = f"NeuralForecast AutoLSTM, {settings['max_steps']} steps/trial"
    if "error" in row:
        print(f"{label:<44}failed: {row['error'][:200]}")
        return
    print(
        f"{label:<44}{row['wall_seconds']:>8.0f}{done:>8}{0:>8}"
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
    parser.add_argument("--max-steps", type=int, default=150, help="optimiser steps (128 windows) per trial")
    parser.add_argument("--time-budget", type=float, help="seconds after which no trial starts (REDUCED)")
    parser.add_argument("--seed", type=int, default=1, help="the TPE sampler's seed")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("sweep-neuralforecast.json"))
    args = parser.parse_args()
    if args.trials < 1 or args.max_steps < 1:
        parser.error("--trials and --max-steps must be at least 1")
    reexec_with_tuned_malloc()
    status = compare_env.ensure(["neuralforecast"])
    settings = {"trials": args.trials, "max_steps": args.max_steps, "seed": args.seed, "preset": PRESET}
    settings["time_budget"] = args.time_budget
    if status["neuralforecast"]:
        row = {"error": f"not run, {status['neuralforecast']}"}
    else:
        row = auto_lstm(args.trials, args.max_steps, args.seed, args.time_budget)
    sweep = json.loads(SWEEP.read_text())
    print_table(row, settings, sweep)
    compare_env.save_results(args.json, "sweep_neuralforecast.py", status, [row | {"settings": settings}])


if __name__ == "__main__":
    main()
