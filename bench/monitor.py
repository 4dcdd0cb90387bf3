"""The monitor's rule on ETTh1: false alarms on clean data, and detection rate and delay of injected changes.

The champion is the default config (`bilstm train` without options) trained through the flow's own steps,
and its promise is what the training flow records (`bilstm.promise.promise_of` on every test window). The
monitor runs as the hourly deployment would, with the default window (a week, 168 rows: 145 windows of 24
steps), through the same functions as `bilstm monitor` (`bilstm.monitor.rolling_scores` and `judge`):

- clean: a check every hour over the ETT test period (rows 11520-14400, the period the promise comes from)
  and over the rows after it (14400-17420, never used by training or the promise); the false-alarm rate is
  the share of checks that say degraded, and of the whole weeks of hourly checks with at least one;
- injected: from the start of each of the 17 whole weeks of the test period, the target (OT) is changed
  from that row on, by a level shift (+d train standard deviations), a linear drift (+d per day), Gaussian
  noise (standard deviation d) or a scale (OT * d + 5, the issue's x1.8 + 5); the monitor checks every hour
  for the next week. Detection rate: the share of the 17 weeks with a degraded check within 168 hours; delay:
  hours from the change to the first such check (median over the detected weeks).

    python bench/monitor.py                  # about a minute on 2 cores: the table, and bench/monitor.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bilstm import pipeline
from bilstm.config import PipelineConfig
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.monitor import Scores, default_window, judge, limits, rolling_scores
from bilstm.promise import promise_of
from deployments.malloc_tuning import reexec_with_tuned_malloc

WEEK = 168
CHANGES = {  # kind -> sizes, in train standard deviations of the target (scale: the factor)
    "level shift": (0.25, 0.5, 1.0, 2.0),
    "drift per day": (0.05, 0.1, 0.25, 0.5),
    "noise": (0.1, 0.2, 0.3, 0.5),
    "scale, + 5": (1.2, 1.5, 1.8),
}


def inject(target: np.ndarray, start: int, kind: str, size: float, sd: float, rng) -> np.ndarray:
    """The target changed from row `start` on."""
    changed, after = target.copy(), np.arange(len(target) - start)
    if kind == "level shift":
        changed[start:] += size * sd
    elif kind == "drift per day":
        changed[start:] += size * sd * after / 24
    elif kind == "noise":
        changed[start:] += rng.normal(0, size * sd, len(after))
    else:
        changed[start:] = changed[start:] * size + 5
    return changed


class Monitor:
    """The champion checked hourly with the default window: every check's windows are a slice of one
    `rolling_scores` over a longer stretch, judged against limits computed once (they depend only on the
    window's length)."""

    def __init__(self, forecaster, promise, test_mse: float, freq: str):
        self.forecaster, self.promise, self.test_mse = forecaster, promise, test_mse
        self.rows = default_window(freq, forecaster.spec.horizon, forecaster.spec.period)
        self.windows = self.rows - forecaster.spec.horizon + 1
        self.limits = limits(promise, test_mse, np.arange(self.windows), self.rows)

    def checks(self, frame: pd.DataFrame, ends: range) -> list[list[str]]:
        """The reasons of the verdict of a check on rows [0, end) for each end in `ends` (empty: healthy)."""
        first = ends[0] - self.rows
        scores = rolling_scores(self.forecaster, frame.iloc[: ends[-1]], first)
        reasons = []
        for end in ends:
            at = end - self.rows - first
            part = Scores(
                scores.source,
                scores.rows[at : at + self.windows],
                scores.mse[at : at + self.windows],
                scores.naive_mse[at : at + self.windows],
                None if scores.miss is None else scores.miss[at : at + self.windows],
            )
            rows = frame.iloc[end - self.rows : end][self.forecaster.spec.input_columns]
            reasons.append(judge(part, self.promise, self.test_mse, rows, self.limits).reasons)
        return reasons


def rule(reasons: list[str]) -> str:
    """Which part of the rule fired first: error, coverage or drift."""
    first = reasons[0]
    return "error" if first.startswith("realised") else "coverage" if first.startswith("95") else "drift"


def main() -> None:
    reexec_with_tuned_malloc()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(Path(__file__).with_name("monitor.json")))
    parser.add_argument("--seed", type=int, default=0, help="of the injected noise")
    args = parser.parse_args()

    started = time.perf_counter()
    config = PipelineConfig()
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = pipeline.split_and_scale(series, config)
    forecaster = pipeline.new_forecaster(prepared, config)
    pipeline.fit_forecaster(forecaster, pipeline.make_train_windows(prepared, config), config, progress=False)
    evaluation = pipeline.evaluate_forecaster(forecaster, prepared)
    promise = promise_of(evaluation, prepared)
    monitor = Monitor(forecaster, promise, evaluation.metrics["test_mse_scaled"], series.freq)
    band = monitor.limits.error_band
    print(
        f"champion: test MSE {band.expected:.4f}; a week's threshold {band.threshold:.4f} (1.25 x the 99th"
        f" percentile {band.high:.4f} of the test weeks' means); trained in"
        f" {time.perf_counter() - started:.0f} s"
    )

    (_, val_end, test_end), frame = prepared.split.borders(), series.frame
    results = {"threshold_mse_scaled": band.threshold, "expected_mse_scaled": band.expected, "clean": {}}
    lines = [f"{'data':<34} {'checks':>6} {'false alarms':>13} {'weeks':>5} {'with an alarm':>13}  rule"]
    for name, start, end in (
        ("clean, ETT test period", val_end, test_end),
        ("clean, after the test period", test_end, len(frame)),
    ):
        ends = range(start + monitor.rows, end + 1)
        verdicts = monitor.checks(frame, ends)
        alarms = [r for r in verdicts if r]
        weeks = [verdicts[i : i + WEEK] for i in range(0, len(verdicts) - WEEK + 1, WEEK)]  # whole weeks
        week_alarms = sum(1 for week in weeks if any(week))
        fired = ", ".join(sorted({rule(r) for r in alarms})) or "-"
        lines.append(
            f"{name:<34} {len(verdicts):>6} {len(alarms):>5} ({len(alarms) / len(verdicts):>5.1%})"
            f" {len(weeks):>5} {week_alarms:>6} ({week_alarms / len(weeks):>5.1%})  {fired}"
        )
        results["clean"][name] = {"checks": len(verdicts), "alarms": len(alarms), "weeks": len(weeks)}
        results["clean"][name]["weeks_with_an_alarm"] = week_alarms

    target = forecaster.spec.target_columns[0]
    sd = float(forecaster.scaler.units(slice(-1, None))[0])
    starts = range(val_end, test_end - WEEK + 1, WEEK)
    rng = np.random.default_rng(args.seed)
    lines += ["", f"{'change of ' + target + ' (from a week start)':<34} {'size':>6} {'detected':>10}"
              f" {'median delay h':>14} {'delays h (min-max)':>18}  rule"]  # fmt: skip
    results["injected"] = []
    for kind, sizes in CHANGES.items():
        for size in sizes:
            delays, fired = [], set()
            for start in starts:
                changed = frame.assign(
                    **{target: inject(frame[target].to_numpy(), start, kind, size, sd, rng)}
                )
                verdicts = monitor.checks(changed, range(start + 1, start + WEEK + 1))
                hit = next((hour for hour, reasons in enumerate(verdicts, start=1) if reasons), None)
                if hit is not None:
                    delays.append(hit)
                    fired.add(rule(verdicts[hit - 1]))
            shown = f"x{size:g}" if kind.startswith("scale") else f"{size:g} sd"
            median = f"{statistics.median(delays):.0f}" if delays else "-"
            spread = f"{min(delays)}-{max(delays)}" if delays else "-"
            lines.append(
                f"{kind:<34} {shown:>6} {len(delays):>3} of {len(starts):<3} {median:>14} {spread:>18}"
                f"  {', '.join(sorted(fired)) or '-'}"
            )
            results["injected"].append({"kind": kind, "size": size, "weeks": len(starts), "delays_h": delays})
    print("\n".join(lines))
    results["measured"] = datetime.date.today().isoformat()
    results["seconds"] = round(time.perf_counter() - started, 1)
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print(f"\n{results['seconds']:.0f} s; {args.json}")


if __name__ == "__main__":
    main()
