"""Seconds per epoch of the `m4-hourly` preset with subnormal floats flushed to zero (as `bilstm.training.fit`
does) and without, each in its own process on one torch thread, run side by side: a table of epoch seconds.

    python bench/m4_long.py && python bench/denormals.py            # 3 epochs each, about 10 minutes
    python bench/denormals.py --epochs 1 --series 40                  # a quick look
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from m4_long import OUT as LONG_TABLE


def epoch_seconds(path: Path, epochs: int, flush: bool) -> list[float]:
    """This process: the preset trained `epochs` epochs on `path`, flushing subnormals or not; the seconds
    of each epoch (the training loop's callback). `fit` flushes by itself, so the unflushed case turns the
    flush off from the callback of the warm start's end, before the first epoch."""
    import torch

    from bilstm import pipeline, training
    from bilstm.config import PipelineConfig, with_overrides
    from bilstm.data import load_table
    from bilstm.defaults import resolve
    from bilstm.presets import load_preset

    if not flush:  # the flag fit sets, kept off for this run
        training.flush_denormals = lambda: torch.set_flush_denormal(False)
    config = with_overrides(
        PipelineConfig.model_validate(load_preset("m4-hourly")),
        {"data.path": str(path), "train.epochs": epochs, "train.patience": epochs},
    )
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = pipeline.split_and_scale(series, config)
    forecaster = pipeline.new_forecaster(prepared, config)
    seconds, last = [], [time.perf_counter()]

    def on_epoch_end(epoch: int, losses: dict) -> None:
        now = time.perf_counter()
        seconds.append(now - last[0])
        last[0] = now

    windows = pipeline.make_train_windows(prepared, config)
    last[0] = time.perf_counter()
    pipeline.fit_forecaster(forecaster, windows, config, on_epoch_end=on_epoch_end, progress=False)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=LONG_TABLE)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--series", type=int, default=None, help="only the first N series")
    parser.add_argument("--child", choices=["flushed", "subnormal"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(" ".join(f"{s:.1f}" for s in epoch_seconds(args.data, args.epochs, args.child == "flushed")))
        return
    data = args.data
    if args.series is not None:
        import pandas as pd

        table = pd.read_csv(data)
        data = data.with_name(f"m4-hourly-long-{args.series}.csv")
        table[table["unique_id"].isin(table["unique_id"].unique()[: args.series])].to_csv(data, index=False)
    base = [sys.executable, __file__, "--data", str(data), "--epochs", str(args.epochs)]
    runs = {
        case: subprocess.Popen([*base, "--child", case], stdout=subprocess.PIPE, text=True)
        for case in ("flushed", "subnormal")
    }
    print(
        f"{'m4-hourly, 1 torch thread':<28}"
        + "".join(f"{f'epoch {e}':>10}" for e in range(1, args.epochs + 1))
    )
    for case, process in runs.items():
        out, _ = process.communicate()
        if process.returncode != 0:
            sys.exit(f"the {case} run failed")
        print(f"{case:<28}" + "".join(f"{float(s):>10.0f}" for s in out.split()))


if __name__ == "__main__":
    main()
