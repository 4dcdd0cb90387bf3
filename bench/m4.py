"""M4 Hourly: the `m4-hourly` preset against seasonal naive, Naive2 and a global linear model on the last 48
steps of each training series (trained on the rest): sMAPE, MASE and OWA (M4's definitions, `bilstm.m4`)
per seed, the training time, NeuralForecast's LSTM and NHITS where bench/m4_neuralforecast.py has run,
StatsForecast's models where bench/m4_statsforecast.py has, and M4's published hourly figures (on the
official test part, not shipped here) as reference rows.

The linear row is the preset model's own least-squares highway warm start (`BiLSTMNet.fit_highway`: ridge
on the same normalised training windows, the penalty picked on the validation windows) scored before any
training epoch, with the recurrent path silent.

Tuning never looks at the last 48 steps: `--tune` scores the validation part instead (the 48 steps before
them, as the test part of each series cut short by 48) and appends a line to bench/m4-trials.md.

    python bench/m4.py                                   # 3 seeds: table + bench/m4.json
    python bench/m4.py --tune --seeds 0 --set train.lr=0.002 --note "a higher rate"
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import SeriesTable, load_table
from bilstm.defaults import resolve
from bilstm.evaluation import evaluate
from bilstm.pipeline import (
    ScaledSplit,
    fit_forecaster,
    make_train_windows,
    new_forecaster,
    split_and_scale,
)
from deployments.config_layers import build_config

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
LONG_TABLE = RESULTS / "m4-hourly-long.csv"
# what this script and the peers' scripts report, kept beside the scripts (results/ is not tracked)
SUMMARY, TRIALS, NEURALFORECAST = BENCH / "m4.json", BENCH / "m4-trials.md", BENCH / "m4-neuralforecast.json"
STATSFORECAST = BENCH / "m4-statsforecast.json"
PRESET = "m4-hourly"
# M4's "Evaluation and Ranks" table, hourly, on the official test part (../shared/data/m4/README.md):
# sMAPE, MASE, OWA
PUBLISHED = {
    "Naive2": (18.383, 2.395, 1.000),
    "sNaive": (13.912, 1.193, 0.627),
    "M4 benchmark RNN": (14.698, 3.048, 1.036),
    "M4 benchmark MLP": (13.842, 2.607, 0.921),
    "ES-RNN (Smyl, M4 winner)": (9.328, 0.893, 0.440),
}
FIT_BATCH = 4096


def long_table(path: Path) -> Path:
    """The long table at `path`, made from the wide M4 file first if it is missing."""
    if not path.exists():
        sys.path.insert(0, str(BENCH))
        from m4_long import SOURCE
        from m4_long import long_table as to_long

        path.parent.mkdir(parents=True, exist_ok=True)
        to_long(pd.read_csv(SOURCE)).to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return path


def without_last(panel: SeriesTable, steps: int) -> SeriesTable:
    """The panel with the last `steps` rows of every series dropped: its own last steps are then the
    validation part of the full panel."""
    lengths = panel.lengths - steps
    keep = np.concatenate(
        [np.arange(start, start + n) for start, n in zip(panel.offsets[:-1], lengths, strict=True)]
    )
    return replace(
        panel,
        frame=panel.frame.iloc[keep],
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        file_rows=panel.file_rows[keep],
    )


def scores(forecaster, prepared: ScaledSplit) -> dict[str, dict[str, float]]:
    """sMAPE, MASE and OWA of the forecaster and of the naive baselines on each series' last horizon."""
    metrics = evaluate(forecaster, prepared).metrics
    rows = {}
    for name, prefix in [("model", ""), ("sNaive", "seasonal_naive_"), ("Naive2", "naive2_")]:
        rows[name] = {
            "smape": metrics[f"{prefix}test_smape"],
            "mase": metrics[f"{prefix}test_mase"],
            "owa": metrics.get(f"{prefix}test_owa", 1.0),
        }
    return rows


def linear_forecaster(prepared: ScaledSplit, config: PipelineConfig, train, val):
    """The preset network (the first member of an ensemble) with its highway at the ridge fit and its
    recurrent path silent."""
    linear_config = with_overrides(config, {"model.highway": True, "model.ensemble": 1})
    forecaster = new_forecaster(prepared, linear_config)
    batches = lambda w: (w.batch(slice(s, s + FIT_BATCH)) for s in range(0, len(w), FIT_BATCH))  # noqa: E731
    forecaster.model.fit_highway(batches(train), batches(val))
    forecaster.model.eval()
    return forecaster


def run(config: PipelineConfig, seeds: list[int], tune: bool) -> dict:
    """Train one model per seed; score it (and the linear model, once) on the test part, or with `tune`
    on the validation part only."""
    panel = load_table(config.data)
    config = resolve(config, panel).config
    prepared = split_and_scale(panel, config)
    train, val = make_train_windows(prepared, config)
    scored = split_and_scale(without_last(panel, config.window.horizon), config) if tune else prepared
    print(f"{len(panel.ids)} series, {len(train)} training windows, lookback {config.window.lookback}")
    linear = scores(linear_forecaster(prepared, config, train, val), scored)
    runs = []
    for seed in seeds:
        seeded = with_overrides(config, {"train.seed": seed})
        forecaster = new_forecaster(prepared, seeded)
        log = fit_forecaster(
            forecaster,
            (train, val),
            seeded,
            on_epoch_end=lambda e, m, seed=seed: print(
                f"  seed {seed} epoch {e}: "
                + ", ".join(f"{k} {v:.4f}" for k, v in m.items() if k.endswith("val_loss")),
                flush=True,
            ),
            progress=False,
        )
        result = scores(forecaster, scored)
        runs.append(
            {
                "seed": seed,
                **result["model"],
                "train_s": log.train_seconds,
                "epochs": log.epochs_run,
                "s_per_epoch": log.train_seconds / sum(m.epochs_run for m in log.members or [log]),
                "best_epoch": log.best_epoch,
                "best_val_loss": min(log.combination_losses.values(), default=log.best_val_loss),
                "start_val_loss": log.start_val_loss,
                "members": [member.best_val_loss for member in log.members],
            }
        )
        print(f"  seed {seed}: OWA {result['model']['owa']:.3f}, {log.train_seconds:.0f} s", flush=True)
    return {
        "part": "validation (the 48 steps before the last 48)" if tune else "test (the last 48 steps)",
        "config": config.model_dump(mode="json"),
        "series": len(panel.ids),
        "training_windows": len(train),
        "runs": runs,
        "linear": linear["model"],
        "sNaive": result["sNaive"],
        "Naive2": result["Naive2"],
    }


def mean_row(runs: list[dict]) -> dict[str, float]:
    frame = pd.DataFrame(runs)
    row = {key: float(frame[key].mean()) for key in ["smape", "mase", "owa", "train_s", "s_per_epoch"]}
    row["owa_std"] = float(frame["owa"].std(ddof=0))
    return row


def peer_rows(path: Path) -> dict | None:
    """The summary of bench/m4_neuralforecast.py or bench/m4_statsforecast.py at `path`, if it has run."""
    if not path.exists():
        return None
    return json.loads(path.read_text())


def table(results: dict) -> str:
    """The markdown table of a full run."""
    model = mean_row(results["runs"])
    seeds = len(results["runs"])
    lines = [
        f"M4 Hourly, last 48 steps of each of {results['series']} training series (trained on the rest)",
        "",
        "| method | sMAPE | MASE | OWA | training |",
        "|---|---:|---:|---:|---|",
        f"| Bi-LSTM, preset `{PRESET}` (mean of {seeds} seeds) | {model['smape']:.3f} | {model['mase']:.3f}"
        f" | {model['owa']:.3f} ± {model['owa_std']:.3f} | {model['train_s']:.0f} s"
        f" ({model['s_per_epoch']:.0f} s/epoch, 1 thread) |",
    ]
    for run in results["runs"]:
        lines.append(
            f"| Bi-LSTM seed {run['seed']} | {run['smape']:.3f} | {run['mase']:.3f} | {run['owa']:.3f}"
            f" | {run['train_s']:.0f} s, {run['epochs']} epochs, best {run['best_epoch']} |"
        )
    linear = results["linear"]
    lines.append(
        f"| global linear (the preset's least-squares warm start) | {linear['smape']:.3f}"
        f" | {linear['mase']:.3f} | {linear['owa']:.3f} | |"
    )
    for name in ["sNaive", "Naive2"]:
        row = results[name]
        lines.append(f"| {name} | {row['smape']:.3f} | {row['mase']:.3f} | {row['owa']:.3f} | |")
    nf = results.get("neuralforecast")
    if nf is None:
        lines.append("| NeuralForecast LSTM, NHITS | not run | | | |")
    else:
        for name in ["LSTM", "NHITS"]:
            row = nf["results"].get(name)
            if row is None:
                lines.append(f"| NeuralForecast {name} | not run | | | |")
                continue
            steps = row.get("steps", nf.get("max_steps"))
            lines.append(
                f"| NeuralForecast {name} ({nf['series']} series, {steps} steps, {nf['threads']} threads)"
                f" | {row['smape']:.3f} | {row['mase']:.3f} | {row['owa']:.3f} | {row['fit']:.0f} s |"
            )
    sf = results.get("statsforecast")
    if sf is None:
        lines.append("| StatsForecast AutoETS, AutoTheta | not run | | | |")
    else:
        # its SeasonalNaive only checks the windows: it equals the sNaive row
        for name in [name for name in sf["results"] if name not in ("sNaive", "Naive2", "SeasonalNaive")]:
            row = sf["results"][name]
            lines.append(
                f"| StatsForecast {name} ({sf['series']} series, per series, n_jobs {sf['n_jobs']})"
                f" | {row['smape']:.3f} | {row['mase']:.3f} | {row['owa']:.3f} | {row['seconds']:.0f} s |"
            )
    for name, (smape, mase, owa) in PUBLISHED.items():
        lines.append(
            f"| M4 published: {name} (official test part) | {smape:.3f} | {mase:.3f} | {owa:.3f} | |"
        )
    return "\n".join(lines)


def log_trial(results: dict, note: str, sets: list[str]) -> None:
    """Append the tuning run's line to bench/m4-trials.md (validation part only)."""
    path = TRIALS
    if not path.exists():
        path.write_text(
            "# M4 Hourly tuning trials (bench/m4.py --tune)\n\n"
            "Scored on the validation part only: the 48 steps before the last 48 of each series. Base: the"
            " preset as it stood at the time (see the settings column) plus the overrides.\n\n"
            "| when | overrides | note | epochs (best) | best val loss | s/epoch | val sMAPE | val MASE"
            " | val OWA | linear val OWA | sNaive val OWA |\n"
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
        )
    with path.open("a") as out:
        for run in results["runs"]:
            out.write(
                f"| {time.strftime('%H:%M')} | {' '.join(sets) or '(preset)'} | {note} |"
                f" {run['epochs']} ({run['best_epoch']}) | {run['best_val_loss']:.4f} |"
                f" {run['s_per_epoch']:.0f} | {run['smape']:.3f} | {run['mase']:.3f} | {run['owa']:.3f} |"
                f" {results['linear']['owa']:.3f} | {results['sNaive']['owa']:.3f} |\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=LONG_TABLE, help="the long table (made if missing)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], help="dotted.key=value over the preset"
    )
    parser.add_argument(
        "--neuralforecast",
        type=Path,
        default=NEURALFORECAST,
        help="bench/m4_neuralforecast.py's summary, read for its rows if present",
    )
    parser.add_argument(
        "--statsforecast",
        type=Path,
        default=STATSFORECAST,
        help="bench/m4_statsforecast.py's summary, read for its rows if present",
    )
    parser.add_argument("--tune", action="store_true", help="score the validation part, log a trial line")
    parser.add_argument("--note", default="", help="--tune: what the trial tries")
    args = parser.parse_args()
    config = build_config(None, {"data.path": str(long_table(args.data))}, args.sets, preset=PRESET)
    started = time.perf_counter()
    results = run(config, args.seeds, args.tune)
    results["total_s"] = time.perf_counter() - started
    if args.tune:
        log_trial(results, args.note, args.sets)
        print(json.dumps({k: results[k] for k in ["runs", "linear", "sNaive", "Naive2"]}, indent=1))
        return
    results["neuralforecast"] = peer_rows(args.neuralforecast)
    results["statsforecast"] = peer_rows(args.statsforecast)
    results["machine"] = {"torch": torch.__version__, "python": platform.python_version()}
    results["command"] = "python bench/m4.py " + " ".join(sys.argv[1:])
    SUMMARY.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"written to {SUMMARY}")


if __name__ == "__main__":
    main()
