"""Training throughput on this machine: the project's `fit` against a plain PyTorch loop of the same model,
batch and data, and the `DataLoader(TensorDataset)` loop of the blog article the project started from
(docs/concepts/design.md); and `fit` on windows of many series (ETTh1's OT train rows cut into 8 series of
one long table, scaled per series, windows by start rows that never cross a series). Each case runs in its own
process (the allocator setting, GLIBC_TUNABLES, is read at process
start); the table gives samples/s and the ratio to the plain loop, all measured in this one run.

    python bench/throughput.py [--epochs 2] [--batch-size 512] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

from bilstm import pipeline
from bilstm.config import ModelConfig, PipelineConfig, TrainConfig, with_overrides
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.model import BiLSTMNet
from bilstm.training import fit
from bilstm.windows import make_windows
from deployments.malloc_tuning import with_tuned_malloc

LOOKBACK, HORIZON = 96, 24
# name -> (method, malloc); "tuned" = the GLIBC_TUNABLES that `bilstm train` runs with
CASES = {
    "fit, as bilstm train runs it": ("fit", "tuned"),
    "fit, 8 series in one table": ("many", "tuned"),
    "fit, glibc malloc defaults": ("fit", "default"),
    "plain loop, glibc defaults": ("plain", "default"),
    "plain loop, tuned malloc": ("plain", "tuned"),
    "article DataLoader loop": ("dataloader", "default"),
}


def etth1_train_windows():
    config = with_overrides(PipelineConfig(), {"data.setting": "S", "window.lookback": LOOKBACK})
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = pipeline.split_and_scale(series, config)
    return pipeline.make_train_windows(prepared, config)[0]


def many_series_train_windows(count: int = 8):
    """ETTh1's OT train rows as `count` series of a long table, through the many-series path."""
    import pandas as pd

    from bilstm.data import load_table
    from bilstm.pipeline import make_train_windows, split_and_scale

    series = load_table(with_overrides(PipelineConfig(), {"data.setting": "S"}).data)
    rows = 8640 // count
    ot = series.frame["OT"].to_numpy()[: rows * count]
    stamps = pd.date_range("2016-07-01", periods=rows, freq="h")
    table = pd.DataFrame({"date": np.tile(stamps, count), "id": np.repeat(np.arange(count), rows), "OT": ot})
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/long.csv"
        table.to_csv(path, index=False)
        overrides = {
            "data.path": path,
            "data.series_column": "id",
            "data.setting": "S",
            "window.lookback": LOOKBACK,
            "window.horizon": HORIZON,
        }
        config = with_overrides(PipelineConfig(), overrides)
        prepared = split_and_scale(load_table(config.data), config)
    return make_train_windows(prepared, config)[0]


def article_model() -> nn.Module:
    """The 2x64 bidirectional LSTM of the blog article, with the fixes that do not change its cost."""
    config = ModelConfig(instance_norm="none", highway=False, dropout=0.0, patch_len=1)
    return BiLSTMNet(config, 1, 1, HORIZON, LOOKBACK)


def run_fit(train, epochs: int, batch_size: int) -> float:
    x, y = train.batch(slice(0, 1))
    # the first train window, inputs then targets, as the one validation window
    one_window = torch.cat([x[0, :, -1], y[0]]).numpy()[:, None]
    one_window_val = make_windows(one_window, LOOKBACK, HORIZON, 1)
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=1e-3,
        schedule="constant",
        patience=epochs,
        device="cpu",
        threads=torch.get_num_threads(),  # the same threads as the other cases
    )
    training_log = fit(article_model(), train, one_window_val, config, progress=False)
    return training_log.samples_per_s


def run_plain(train, epochs: int, batch_size: int) -> float:
    x, y = train.batch(slice(None))  # materialised once, as a plain script would
    model, loss_fn = article_model(), nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch_size):
            index = order[start : start + batch_size]
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    return epochs * len(x) / (time.perf_counter() - started)


def run_dataloader(train, epochs: int, batch_size: int) -> float:
    x, y = train.batch(slice(None))
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=batch_size, shuffle=True
    )
    model, loss_fn = article_model(), nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return epochs * len(x) / (time.perf_counter() - started)


def one_case(method: str, epochs: int, batch_size: int, threads: int | None) -> dict:
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    train = many_series_train_windows() if method == "many" else etth1_train_windows()
    runner = {"fit": run_fit, "many": run_fit, "plain": run_plain, "dataloader": run_dataloader}[method]
    return {"samples_per_s": runner(train, epochs, batch_size), "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for every case (train.threads)")
    parser.add_argument("--case", nargs=2, metavar=("METHOD", "MALLOC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(one_case(args.case[0], args.epochs, args.batch_size, args.threads)))
        return
    results = {}
    for name, (method, malloc) in CASES.items():
        command = [sys.executable, __file__, "--case", method, malloc, "--epochs", str(args.epochs)]
        command += ["--batch-size", str(args.batch_size)] + (
            ["--threads", str(args.threads)] if args.threads else []
        )
        env = dict(os.environ, BILSTM_MALLOC_TUNING="0")
        env.pop("GLIBC_TUNABLES", None)
        if malloc == "tuned":
            env = with_tuned_malloc(dict(env, BILSTM_MALLOC_TUNING="1"))
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
        results[name] = json.loads(output.strip().splitlines()[-1])
    plain = results["plain loop, glibc defaults"]["samples_per_s"]
    print(
        f"ETTh1 S (OT), lookback {LOOKBACK}, horizon {HORIZON}, 2x64 Bi-LSTM, batch {args.batch_size},"
        f" {args.epochs} epochs, {results['fit, as bilstm train runs it']['threads']} torch threads"
    )
    print(f"{'case':<30} {'samples/s':>10} {'vs plain loop':>14}")
    for name, result in results.items():
        print(f"{name:<30} {result['samples_per_s']:>10.0f} {result['samples_per_s'] / plain:>13.2f}x")
    assert np.isfinite(plain)


if __name__ == "__main__":
    main()
