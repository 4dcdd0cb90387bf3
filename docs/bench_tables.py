"""The benchmark pages' tables, rendered from the JSON files the `bench/` scripts write: each table is
captioned with the command that made it and the machine it ran on, so no figure on the pages is typed by
hand. `TABLES` maps a region name of the pages (`<!-- generated: bench-NAME -->`) to its renderer."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
# the machine every benchmark so far ran on, where its JSON does not name one
MACHINE = "the project's 2-core x86_64 CPU machine (no GPU)"
NUMBER = re.compile(r"^[-\d.±%() /*]*$")  # a cell of figures, aligned right


def _load(name: str) -> dict:
    return json.loads((BENCH / name).read_text())


def _caption(command: str, source: str, machine: str = MACHINE) -> str:
    return f"Made by `{command.strip()}` on {machine} (`bench/{source}`).\n\n"


def _table(header: list[str], rows: list[list]) -> str:
    """A markdown table; columns of figures alone are aligned right."""
    cells = [[str(cell) for cell in row] for row in rows]
    figures = [all(NUMBER.match(row[i]) for row in cells) for i in range(len(header))]
    align = ["---:" if figure else "---" for figure in figures]
    return "\n".join("| " + " | ".join(line) + " |" for line in [header, align, *cells]) + "\n"


def _f(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def accuracy() -> str:
    data = _load("accuracy.json")
    header = [
        "preset",
        "setting",
        "L",
        "H",
        "MSE mean ± sd",
        "MAE",
        "persistence",
        "seasonal naive",
        "ridge 96",
        "ridge LV",
        "+cycle",
        "train s",
        "beat s",
        "published",
    ]
    rows = [
        [
            f"`{r['preset']}`",
            r["setting"],
            r["lookback"],
            r["horizon"],
            f"{r['mse_mean']:.4f} ± {r['mse_sd']:.4f}",
            _f(r["mae_mean"]),
            _f(r["persistence"]),
            _f(r["seasonal_naive"]),
            _f(r["ridge_96"]),
            _f(r["ridge_last_value"]),
            _f(r["ridge_last_value_cycle"]),
            f"{r['train_seconds_mean']:.0f}",
            f"{r['beat_persistence_s_max']:.1f}",
            r["published"],
        ]
        for r in data["rows"]
    ]
    seeds = ", ".join(map(str, data["seeds"]))
    command = f"python bench/accuracy.py (seeds {seeds}, {data['torch_threads']} torch thread)"
    return _caption(command, "accuracy.json") + _table(header, rows)


def scale() -> str:
    data = _load("scale.json")
    training = [
        [
            t["store"],
            t["run"],
            f"{t['wall_s']:.1f}",
            f"{t['train_s']:.1f}",
            f"{t['register_s']:.2f}",
            f"{t['promote_s']:.2f}",
            f"v{t['version']}" + (", promoted" if t["promoted"] else ""),
        ]
        for t in data["training"]
    ]
    backtests = [
        [b["place"], b["run"], f"{b['wall_s']:.1f}", f"{b['flow_s']:.1f}", _f(b["mean_test_mse_scaled"], 6)]
        for b in data["backtests"]
    ]
    return (
        _caption(data["command"], "scale.json")
        + "The default job, `bilstm train --json`, per MLflow store:\n\n"
        + _table(["MLflow store", "run", "wall s", "train s", "register s", "promote s", "version"], training)
        + "\nA 4-fold backtest, `bilstm backtest --folds 4 --json`, per place the folds run:\n\n"
        + _table(["folds run in", "run", "wall s", "flow s", "mean test MSE (scaled)"], backtests)
    )


def _backtest(source: str) -> str:
    data = _load(source)
    rows = []
    for config in data["rows"]:
        for name, model in config["models"].items():
            folds = [fold["test_mse_scaled"] for fold in model["folds"]]
            seconds = sum(fold.get("seconds", 0.0) for fold in model["folds"])
            epochs = " ".join(str(fold.get("epochs_run", "")) for fold in model["folds"]).strip()
            rows.append(
                [
                    config["config"],
                    name,
                    *map(_f, folds),
                    _f(statistics.fmean(folds)),
                    f"{seconds:.0f}" if seconds else "",
                    epochs,
                ]
            )
    fold_columns = [f"fold {i}" for i in range(len(data["rows"][0]["models"]["ours"]["folds"]))]
    header = ["config", "model", *fold_columns, "mean", "fit+fc s", "epochs run"]
    return _caption(data["command"], source) + _table(header, rows)


def backtest() -> str:
    return _backtest("backtest.json")


def backtest_s96() -> str:
    return _backtest("backtest-s96.json")


def intervals() -> str:
    data = _load("intervals.json")
    rows = []
    for config in data["rows"]:
        for name, model in config["models"].items():
            m = model["metrics"]
            label = (
                f"bilstm {model['calibrator']}" if name == "bilstm" else f"{name} {model.get('version', '')}"
            )
            rows.append(
                [
                    config["config"],
                    config["horizon"],
                    label,
                    _f(m["test_mse_scaled"]),
                    _f(m["test_coverage_80"], 3),
                    _f(m["test_coverage_95"], 3),
                    _f(m["test_width_80"], 2),
                    _f(m["test_width_95"], 2),
                    _f(m["test_msis_95"], 2),
                    f"{model['seconds']:.0f}",
                    model["epochs_run"],
                ]
            )
    header = [
        "config",
        "H",
        "model",
        "MSE",
        "cov 80",
        "cov 95",
        "width 80",
        "width 95",
        "MSIS 95",
        "fit+fc s",
        "epochs",
    ]
    return _caption(data["command"], "intervals.json") + _table(header, rows)


def monitor() -> str:
    data = _load("monitor.json")
    clean = [
        [
            name,
            c["checks"],
            f"{c['alarms']} ({c['alarms'] / c['checks']:.1%})",
            c["weeks"],
            c["weeks_with_an_alarm"],
        ]
        for name, c in data["clean"].items()
    ]
    injected = []
    for case in data["injected"]:
        delays = case["delays_h"]
        spread = f"{min(delays)}-{max(delays)}" if delays else "-"
        median = f"{statistics.median(delays):.0f}" if delays else "-"
        injected.append([case["kind"], case["size"], f"{len(delays)} of {case['weeks']}", median, spread])
    threshold = (
        f"Champion test MSE {data['expected_mse_scaled']:.4f}; a week's threshold"
        f" {data['threshold_mse_scaled']:.4f}.\n\n"
    )
    return (
        _caption("python bench/monitor.py", "monitor.json")
        + threshold
        + _table(["data", "checks", "false alarms", "weeks", "weeks with an alarm"], clean)
        + "\n"
        + _table(
            [
                "change of OT (from a week start)",
                "size (sd)",
                "detected",
                "median delay h",
                "delays h (min-max)",
            ],
            injected,
        )
    )


def m4() -> str:
    data = _load("m4.json")
    runs = data["runs"]
    owa = [run["owa"] for run in runs]
    mean = lambda key: statistics.fmean(run[key] for run in runs)  # noqa: E731
    rows = [
        [
            f"Bi-LSTM `m4-hourly` ({len(runs)} seeds)",
            _f(mean("smape"), 3),
            _f(mean("mase"), 3),
            f"{statistics.fmean(owa):.3f} ± {statistics.pstdev(owa):.3f}",
            f"{mean('train_s'):.0f}",
        ],
        [
            "global linear (the preset's warm start)",
            *(_f(data["linear"][k], 3) for k in ("smape", "mase", "owa")),
            "",
        ],
        *[
            [name, *(_f(data[name][k], 3) for k in ("smape", "mase", "owa")), ""]
            for name in ("sNaive", "Naive2")
        ],
    ]
    command = data.get("command", "python bench/m4.py")
    versions = data.get("machine", {})
    machine = MACHINE + "".join(f", {name} {version}" for name, version in versions.items())
    return _caption(command, "m4.json", machine) + _table(
        ["method", "sMAPE", "MASE", "OWA", "training s"], rows
    )


def m4_baselines() -> str:
    data = _load("m4-baselines.json")
    rows = [
        [name, *(_f(data[name][k], 3) for k in ("smape", "mase", "owa"))] for name in ("sNaive", "Naive2")
    ]
    note = f"{data['seasonal']} of the {data['series']} in-samples pass M4's seasonality test.\n\n"
    return (
        _caption("python bench/m4_baselines.py", "m4-baselines.json")
        + note
        + _table(["method", "sMAPE", "MASE", "OWA"], rows)
    )


def _library_rows(results: dict, seconds: str, extra: str | None = None) -> list[list]:
    return [
        [name, *(_f(r[k], 3) for k in ("smape", "mase", "owa")), f"{r[seconds]:.1f}"]
        + ([r[extra]] if extra else [])
        for name, r in results.items()
        if seconds in r
    ]


def m4_neuralforecast() -> str:
    data = _load("m4-neuralforecast.json")
    rows = _library_rows(data["results"], "fit", "steps")
    version, threads = data["neuralforecast"], data["threads"]
    note = f"NeuralForecast {version}, {threads} torch threads, {data['minutes']:g} minutes"
    return (
        _caption(data["command"], "m4-neuralforecast.json")
        + note
        + " of fitting each.\n\n"
        + _table(["method", "sMAPE", "MASE", "OWA", "fit s", "steps"], rows)
    )


def m4_statsforecast() -> str:
    data = _load("m4-statsforecast.json")
    rows = _library_rows(data["results"], "seconds")
    version, season = data["statsforecast"], data["season_length"]
    note = f"StatsForecast {version}, n_jobs={data['n_jobs']}, season length {season}"
    return (
        _caption(data["command"], "m4-statsforecast.json")
        + note
        + ".\n\n"
        + _table(["method", "sMAPE", "MASE", "OWA", "wall s"], rows)
    )


def _loop_outcome(name: str, summary: dict) -> str:
    if name == "train":
        promoted = "champion" if summary["promoted"] else "not promoted"
        return f"test OWA {summary['metrics']['test_owa']:.3f}, v{summary['model_version']} {promoted}"
    if name.startswith("monitor"):
        verdict = "degraded" if summary["degraded"] else "healthy"
        return f"{verdict}; {summary['degraded_series_count']} series degraded"
    if name == "backtest":
        metrics = summary["metrics"]
        return (
            f"mean OWA {metrics['mean_test_owa']:.3f} over the folds (seasonal naive"
            f" {metrics['mean_seasonal_naive_test_owa']:.3f})"
        )
    promoted = "promoted" if summary["promoted"] else "not promoted"
    return f"{summary['trials']} trials; the best retrained as v{summary['model_version']}, {promoted}"


def m4_loop() -> str:
    data = _load("m4-loop.json")
    rows = [
        [
            "`bilstm " + " ".join(step["argv"]) + "`",
            f"{step['seconds']:.0f}",
            step["exit"],
            _loop_outcome(name, step["summary"]),
        ]
        for name, step in data["steps"].items()
    ]
    machine = f"{data['machine']} (the test suite running beside it)"
    return _caption("python bench/m4_loop.py", "m4-loop.json", machine) + _table(
        ["command", "wall s", "exit", "outcome"], rows
    )


EPF_LABELS = {
    "naive": "naive 1/7 (reference)",
    "bilstm": "Bi-LSTM, past prices only",
    "future": "Bi-LSTM + future columns",
    "calendar": "Bi-LSTM + calendar",
    "both": "Bi-LSTM + future columns + calendar",
    "bilstm-weekly": "Bi-LSTM, past prices only, retrained weekly",
    "both-weekly": "Bi-LSTM + future columns + calendar, retrained weekly",
    "both-revin": "Bi-LSTM + future columns + calendar, windows by mean and deviation (`revin`)",
    "lear": "LEAR-like ridge (future columns + day of week)",
    "nhits": "NeuralForecast NHITS (future columns + day dummies)",
    "nbeatsx": "NeuralForecast NBEATSx (future columns + day dummies)",
}


def epf() -> str:
    data = _load("epf.json")
    markets = list(next(iter(data["rows"].values()))["markets"])
    rows = [
        [
            EPF_LABELS.get(name, name),
            *(_f(r["markets"][m]["mae"], 2) for m in markets),
            f"**{r['mean']['mae']:.2f}**",
            *(_f(r["markets"][m]["rmae"], 3) for m in markets),
            f"**{r['mean']['rmae']:.3f}**",
            _f(r["mean"]["smape"], 2),
            f"{r['seconds']:.0f}",
        ]
        for name, r in data["rows"].items()
    ]
    header = [
        "model",
        *(f"MAE {m}" for m in markets),
        "MAE",
        *(f"rMAE {m}" for m in markets),
        "rMAE",
        "sMAPE %",
        "s",
    ]
    commands = sorted({r["command"].strip() for r in data["rows"].values() if "command" in r})
    command = "`, `".join(commands) if commands else "python bench/epf.py"
    return _caption(command, "epf.json") + _table(header, rows)


def _sweep(source: str) -> str:
    data = _load(source)
    rows = [
        [
            r["workers"],
            f"{r['command_s']:.1f}",
            f"{r['startup_s']:.1f}",
            f"{r['trials_s']:.1f}",
            f"{r['after_s']:.1f}",
            f"{sum(r['busy_s']):.0f}",
            r["trials"],
            r["pruned"],
            _f(r["best_value"]),
            _f(r["test_mse_scaled"]),
            " / ".join(f"{b:.0f}" for b in r["busy_s"]),
            "yes" if r.get("replayed") else "no",
        ]
        for r in data["runs"]
    ]
    header = [
        "workers",
        "command s",
        "start-up s",
        "trials s",
        "after s",
        "work s",
        "trials",
        "pruned",
        "best val",
        "test MSE",
        "busy s per worker",
        "replayed",
    ]
    refs = data["references"]
    note = (
        f"\nPreset `{data['preset']}` (`bench/accuracy.json`): test MSE {refs['preset_test_mse']:.4f},"
        f" linear floor {refs['linear_floor']:.4f}, persistence {refs['persistence']:.4f}.\n"
    )
    return _caption(data["command"], source) + _table(header, rows) + note


def sweep() -> str:
    return _sweep("sweep.json")


def sweep_draws() -> str:
    return _sweep("sweep-draws.json")


def sweep_neuralforecast() -> str:
    data = _load("sweep-neuralforecast.json")
    rows = [
        [
            f"NeuralForecast {r['version']} AutoLSTM",
            f"{r['wall_seconds']:.0f}",
            len(r["trials"]),
            _f(r["best_value"]),
            _f(r["test_mse_scaled"]),
            f"{r['epochs_per_trial']:.1f}",
        ]
        for r in data["rows"]
    ]
    return _caption(data["command"], "sweep-neuralforecast.json") + _table(
        ["model", "wall s", "trials", "best val", "test MSE", "epochs per trial"], rows
    )


def sweep_objective() -> str:
    data = _load("sweep-objective.json")
    rows = [
        [r["config"], _f(r["objective"]), _f(r["test_mse"]), " / ".join(_f(m) for m in r["fold_mse"])]
        for r in data["rows"]
    ]
    return _caption(data["command"], "sweep-objective.json") + _table(
        ["config", "objective", "test MSE", "fold MSE"], rows
    )


def headline() -> str:
    """A few figures from the JSON files above, for the README and the benchmarks overview."""
    presets = {row["preset"]: row for row in _load("accuracy.json")["rows"]}
    m4_runs, m4_data = _load("m4.json")["runs"], _load("m4.json")
    stats = _load("m4-statsforecast.json")["results"]
    epf_rows = _load("epf.json")["rows"]
    bands = _load("intervals.json")["rows"][0]["models"]
    owa = statistics.fmean(run["owa"] for run in m4_runs)
    rows = [
        [f"ETTh1 `{row['setting']}`, {row['horizon']} steps", "test MSE (scaled)", _f(row["mse_mean"]),
         f"persistence {row['persistence']:.4f}; published {row['published']}"]
        for row in (presets["etth1-s96"], presets["etth1-m96"])
    ]  # fmt: skip
    rows += [
        [
            "M4 Hourly, 414 series",
            "OWA",
            f"{owa:.3f}",
            f"seasonal naive {m4_data['sNaive']['owa']:.3f}; StatsForecast MSTL {stats['MSTL']['owa']:.3f}",
        ],
        [
            "EPF day-ahead prices, 4 markets",
            "rMAE",
            f"{epf_rows['both']['mean']['rmae']:.3f}",
            f"naive 1/7 1.000; NBEATSx {epf_rows['nbeatsx']['mean']['rmae']:.3f}",
        ],
        [
            "ETTh1 95 % bands, 24 steps",
            "coverage",
            f"{bands['bilstm']['metrics']['test_coverage_95']:.3f}",
            f"Darts conformal {bands['darts']['metrics']['test_coverage_95']:.3f}",
        ],
    ]
    return _table(["benchmark", "metric", "bilstm", "beside it"], rows)


TABLES: dict[str, Callable[[], str]] = {
    f"bench-{function.__name__.replace('_', '-')}": function
    for function in (
        headline,
        accuracy,
        scale,
        backtest,
        backtest_s96,
        intervals,
        monitor,
        m4,
        m4_baselines,
        m4_neuralforecast,
        m4_statsforecast,
        m4_loop,
        epf,
        sweep,
        sweep_draws,
        sweep_neuralforecast,
        sweep_objective,
    )
}
