"""EPF, four day-ahead electricity markets (BE, DE, FR, NP) with known-in-advance covariates: each of the
last 28 days of every market forecast at the end of the day before, 24 hours at once, by the Bi-LSTM without
covariates, with the future columns (`data.future`), with calendar features (`data.calendar`), with both; a
LEAR-like ridge model; NeuralForecast's NHITS and NBEATSx with the same future columns; all beside the
"naive 1/7" reference. MAE (EUR/MWh), rMAE (over the naive 1/7's MAE) and sMAPE per market and on average,
and wall seconds.

The Bi-LSTM's windows are `bilstm backtest`'s: `plan_folds` with 28 folds a day apart, trained once on fold
0's rows (the 35 days before the 28) and rolled forward (`refit once`), or retrained every 7 days on the rows
before that day (the `-weekly` rows, `refit 7`); LEAR and NeuralForecast fit on the same 35 days.
NeuralForecast runs in the benchmarks' own venv (bench/compare_env.py); its default budget,
15 steps, takes about the Bi-LSTM's seconds.

    python bench/epf.py                                   # every row: table + bench/epf.json
    python bench/epf.py --only naive bilstm lear --epochs 2 --seeds 0     # a quick check
    python bench/epf.py --only nhits nbeatsx --nf-max-steps 10           # NeuralForecast's path

A run replaces the rows it ran in bench/epf.json and keeps the others.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import compare_env
import numpy as np
import pandas as pd
from epf_baselines import HOURS, lear_forecasts, naive_1_7, scores

from bilstm import backtest
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import SeriesTable, load_table
from bilstm.defaults import resolve
from bilstm.folds import BacktestOptions, Fold, plan_folds

BENCH = Path(__file__).resolve().parent
DATA = BENCH.parents[1] / "shared" / "data" / "epf" / "epf-4-markets.csv"
SUMMARY = BENCH / "epf.json"
DAYS, LOOKBACK = 28, 7 * HOURS
FUTURE = ["Exogenous1", "Exogenous2"]
CALENDAR = ["hour", "dayofweek"]
DUMMIES = [f"day_{k}" for k in range(7)]
BOTH = {"data.future": FUTURE, "data.calendar": CALENDAR}
# key -> (label, config overrides, how often the folds retrain: `once`, or every K days as `--refit K`)
BILSTM = {
    "bilstm": ("Bi-LSTM, past prices only", {}, "once"),
    "future": ("Bi-LSTM + future columns", {"data.future": FUTURE}, "once"),
    "calendar": ("Bi-LSTM + calendar", {"data.calendar": CALENDAR}, "once"),
    "both": ("Bi-LSTM + future columns + calendar", BOTH, "once"),
    "bilstm-weekly": ("Bi-LSTM, past prices only, retrained weekly", {}, "7"),
    "both-weekly": ("Bi-LSTM + future columns + calendar, retrained weekly", BOTH, "7"),
    "both-revin": (
        "Bi-LSTM + future columns + calendar, windows by mean and deviation (`revin`)",
        BOTH | {"model.instance_norm": "revin"},
        "once",
    ),
}
NEURALFORECAST = {"nhits": "NHITS", "nbeatsx": "NBEATSx"}
LABELS = {
    "naive": "naive 1/7 (reference)",
    **{key: label for key, (label, _, _) in BILSTM.items()},
    "lear": "LEAR-like ridge, all markets (future columns + day of week)",
    "nhits": "NeuralForecast NHITS + future columns + day dummies",
    "nbeatsx": "NeuralForecast NBEATSx + future columns + day dummies",
}


def read_days(path: Path) -> pd.DataFrame:
    """The long table, checked to hold whole days of hours, one market after another."""
    table = pd.read_csv(path, parse_dates=["ds"]).sort_values(["unique_id", "ds"], ignore_index=True)
    for market, rows in table.groupby("unique_id"):
        hourly = (rows["ds"].diff().dropna() == pd.Timedelta(hours=1)).all()
        if not hourly or rows["ds"].iloc[0].hour != 0 or len(rows) % HOURS:
            raise SystemExit(f"{path}: market {market} is not whole days of hours without gaps")
    return table


def bilstm_config(path: Path, epochs: int, threads: int, overrides: dict) -> PipelineConfig:
    """Past prices (setting S) of a week in, the next day out, each window normalised by its own median and
    median absolute deviation (prices jump between weeks, and a spike in the week would stretch a mean and
    deviation), MAE loss, a week of validation rows before the test days."""
    settings = {
        "data.path": str(path),
        "data.series_column": "unique_id",
        "data.time_column": "ds",
        "data.targets": ["y"],
        "data.setting": "S",
        "data.split": "last",
        "data.val_steps": 7 * HOURS,
        "data.test_steps": HOURS,
        "window.lookback": LOOKBACK,
        "window.horizon": HOURS,
        "model.instance_norm": "robust",
        "train.loss": "mae",
        "train.epochs": epochs,
        "train.patience": 5,
        "train.threads": threads,
        "intervals.levels": [],
    }
    return with_overrides(PipelineConfig(), settings | overrides)


def check_whole_days(series: SeriesTable, folds: list[Fold]) -> None:
    """Each fold's test block is one day, midnight to 23:00, of every market: the day-ahead origin."""
    times = series.frame.index
    for fold in folds:
        split = fold.split
        first, last = times[split.val_end], times[split.test_end - 1]
        if (
            (split.test_end - split.val_end != HOURS).any()
            or (first.hour != 0).any()
            or (last.hour != 23).any()
        ):
            shown = ", ".join(f"{a} to {b}" for a, b in zip(first, last, strict=True))
            raise SystemExit(f"fold {fold.index}: its test blocks ({shown}) are not whole days")


def bilstm_forecasts(
    series: SeriesTable, config: PipelineConfig, refit: str = "once"
) -> tuple[pd.DataFrame, dict]:
    """Forecasts of the 28 days, fold by fold as `bilstm backtest --folds 28 --step 24 --refit REFIT` runs
    them, in original units; and the (last) training's epochs and the seconds of all."""
    series, folds = plan_folds(series, config, BacktestOptions(folds=DAYS, step=HOURS, refit=refit))
    check_whole_days(series, folds)
    frames, trained, seconds, log = [], None, 0.0, None
    for fold in folds:
        outcome = backtest.run_fold(series, config, fold, trained)
        trained, log = outcome.forecaster or trained, outcome.training_log or log
        seconds += outcome.seconds
        evaluation = outcome.evaluation
        if len(evaluation.forecast) != len(series.ids):
            raise SystemExit(f"fold {fold.index}: {len(evaluation.forecast)} windows, not one per market")
        steps = evaluation.first_rows[:, None] + np.arange(HOURS)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": np.repeat(series.ids[evaluation.series], HOURS),
                    "ds": evaluation.times[steps.ravel()],
                    "forecast": evaluation.forecast[..., 0].ravel(),
                }
            )
        )
    training = {"epochs": log.epochs_run, "best_epoch": log.best_epoch, "train_s": log.train_seconds}
    return pd.concat(frames, ignore_index=True), {"seconds": seconds, **training}


def run_bilstm(key: str, path: Path, args: argparse.Namespace) -> list[tuple[pd.DataFrame, dict]]:
    """One run per seed of a Bi-LSTM row; a config or data the project does not take yet raises
    `Unavailable`."""
    try:
        _, overrides, refit = BILSTM[key]
        config = bilstm_config(path, args.epochs, args.threads, overrides)
        series = load_table(config.data)
        config = resolve(config, series).config
    except ValueError as error:  # pydantic's ValidationError and the project's input errors among them
        said = " ".join(str(error).split(";")[0].split())  # its first clause: the table cell stays short
        raise Unavailable(said if len(said) <= 100 else said[:97] + "...") from error
    runs = []
    for seed in args.seeds:
        forecast, info = bilstm_forecasts(series, with_overrides(config, {"train.seed": seed}), refit)
        print(f"  {key} seed {seed}: {info['seconds']:.0f} s, {info['epochs']} epochs", flush=True)
        runs.append((forecast, {"seed": seed, "max_epochs": args.epochs, **info}))
    return runs


def run_lear(table: pd.DataFrame) -> list[tuple[pd.DataFrame, dict]]:
    """The ridge model of all markets, fitted on their days before the 28 and forecasting each of those."""
    started = time.perf_counter()
    groups = list(table.groupby("unique_id"))
    days = [market_days(rows) for _, rows in groups]
    forecasts, alpha = lear_forecasts(days, len(days[0][0]) - DAYS)
    frames = [
        day_frame(market, rows, forecast[-DAYS:])
        for (market, rows), forecast in zip(groups, forecasts, strict=True)
    ]
    return [
        (pd.concat(frames, ignore_index=True), {"seconds": time.perf_counter() - started, "alpha": alpha})
    ]


def run_naive(table: pd.DataFrame) -> list[tuple[pd.DataFrame, dict]]:
    frames = []
    for market, rows in table.groupby("unique_id"):
        prices, _, dayofweek = market_days(rows)
        frames.append(day_frame(market, rows, naive_1_7(prices, dayofweek)[-DAYS:]))
    return [(pd.concat(frames, ignore_index=True), {"seconds": 0.0})]


def run_neuralforecast(keys: list[str], path: Path, args: argparse.Namespace) -> dict:
    """NHITS and NBEATSx in the comparison venv's process: key -> runs, or the reason they did not run."""
    status = compare_env.ensure(["neuralforecast"])["neuralforecast"]
    if status is not None:
        return {key: Unavailable(status) for key in keys}
    payload = {
        "csv": str(path),
        "models": [NEURALFORECAST[key] for key in keys],
        "futr_exog": FUTURE + DUMMIES,
        "horizon": HOURS,
        "input_size": LOOKBACK,
        "n_windows": DAYS,
        "max_steps": args.nf_max_steps,
        "seed": args.seeds[0],
        "threads": args.threads,
    }
    result = compare_env.run("neuralforecast_epf.py", payload)
    if result.output is None:
        return {key: Unavailable(result.error) for key in keys}
    runs = {}
    for key in keys:
        answer = result.output["models"][NEURALFORECAST[key]]
        forecast = pd.DataFrame(answer["forecast"], columns=["unique_id", "ds", "forecast"])
        forecast["ds"] = pd.to_datetime(forecast["ds"])
        info = {"seconds": answer["seconds"], "steps": answer["steps"], "version": result.output["version"]}
        print(f"  {key}: {answer['seconds']:.0f} s, {answer['steps']} steps", flush=True)
        runs[key] = [(forecast, info)]
    return runs


class Unavailable(Exception):
    """A row that cannot run here (a config key not there yet, a library that did not install)."""


def market_days(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A market's prices (days, 24), future columns (days, 24, 2) and day of week (days,), Monday 0."""
    days = len(rows) // HOURS
    prices = rows["y"].to_numpy(np.float64).reshape(days, HOURS)
    future = rows[FUTURE].to_numpy(np.float64).reshape(days, HOURS, len(FUTURE))
    return prices, future, rows["ds"].dt.day_of_week.to_numpy()[::HOURS]


def day_frame(market: str, rows: pd.DataFrame, forecast: np.ndarray) -> pd.DataFrame:
    """The (28, 24) forecast of a market's last days as rows of (unique_id, ds, forecast)."""
    return pd.DataFrame(
        {"unique_id": market, "ds": rows["ds"].to_numpy()[-forecast.size :], "forecast": forecast.ravel()}
    )


def scored(runs: list[tuple[pd.DataFrame, dict]], truth: pd.DataFrame) -> dict:
    """Per market and on average (the mean over markets): MAE, rMAE and sMAPE, each the mean over runs."""
    per_run = []
    for forecast, _ in runs:
        both = truth.merge(forecast, on=["unique_id", "ds"], how="left")
        if both["forecast"].isna().any():
            raise SystemExit(f"{int(both['forecast'].isna().sum())} test hours without a forecast")
        per_run.append(
            {
                market: scores(rows["y"].to_numpy(), rows["forecast"].to_numpy(), rows["naive"].to_numpy())
                for market, rows in both.groupby("unique_id")
            }
        )
    markets = {m: {k: float(np.mean([r[m][k] for r in per_run])) for k in per_run[0][m]} for m in per_run[0]}
    mean = {k: float(np.mean([markets[m][k] for m in markets])) for k in ("mae", "rmae", "smape")}
    seconds = float(np.mean([info["seconds"] for _, info in runs]))
    return {"markets": markets, "mean": mean, "seconds": seconds, "runs": [info for _, info in runs]}


def table(rows: dict) -> str:
    """The markdown table: MAE and rMAE per market and on average, sMAPE on average, seconds."""
    markets = next(row["markets"] for row in rows.values() if "markets" in row)
    names = list(markets)
    head = [
        "model",
        *(f"MAE {m}" for m in names),
        "MAE",
        *(f"rMAE {m}" for m in names),
        "rMAE",
        "sMAPE %",
        "s",
    ]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for key in LABELS:
        row = rows.get(key)
        if row is None:
            continue
        if "markets" not in row:
            lines.append(f"| {LABELS[key]} | {row['status']} |" + " |" * (len(head) - 2))
            continue
        cells = [f"{row['markets'][m]['mae']:.2f}" for m in names] + [f"**{row['mean']['mae']:.2f}**"]
        cells += [f"{row['markets'][m]['rmae']:.3f}" for m in names] + [f"**{row['mean']['rmae']:.3f}**"]
        cells += [f"{row['mean']['smape']:.2f}", f"{row['seconds']:.0f}"]
        lines.append(f"| {LABELS[key]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def row_runs(key: str, table: pd.DataFrame, nf_runs: dict, args: argparse.Namespace) -> list:
    """The runs of one row (one per seed for the Bi-LSTM), or `Unavailable`."""
    if key == "naive":
        return run_naive(table)
    if key == "lear":
        return run_lear(table)
    if key in BILSTM:
        return run_bilstm(key, args.data, args)
    if isinstance(nf_runs[key], Unavailable):
        raise nf_runs[key]
    return nf_runs[key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the EPF long table (default: %(default)s)")
    parser.add_argument("--only", nargs="+", choices=list(LABELS), help="rows to run (default: all)")
    parser.add_argument("--epochs", type=int, default=20, help="Bi-LSTM epochs at most (patience 5)")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="Bi-LSTM seeds (NF: the first)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads, every model")
    parser.add_argument(
        "--nf-max-steps",
        type=int,
        default=15,
        help="NeuralForecast's optimiser steps (default: %(default)s, about the Bi-LSTM's training seconds)",
    )
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: pass --data PATH to epf-4-markets.csv")
    table_rows = read_days(args.data)
    naive = run_naive(table_rows)[0][0].rename(columns={"forecast": "naive"})
    truth = table_rows[["unique_id", "ds", "y"]].merge(naive, on=["unique_id", "ds"])
    only = args.only or list(LABELS)
    results = json.loads(SUMMARY.read_text())["rows"] if SUMMARY.exists() else {}
    nf_keys = [key for key in only if key in NEURALFORECAST]
    nf_runs = run_neuralforecast(nf_keys, args.data, args) if nf_keys else {}
    for key in only:
        print(f"{key}: {LABELS[key]}", flush=True)
        try:
            results[key] = scored(row_runs(key, table_rows, nf_runs, args), truth) | {
                "date": datetime.date.today().isoformat(),
                "command": "python bench/epf.py " + " ".join(sys.argv[1:]),
            }
        except Unavailable as why:
            print(f"  not available: {why}", flush=True)
            results[key] = {"status": f"not available: {why}"}
    summary = {"days": DAYS, "rows": results}
    SUMMARY.write_text(json.dumps(summary, indent=2) + "\n")
    print(table(results))
    print(f"written to {SUMMARY}")


if __name__ == "__main__":
    main()
