"""Memory benchmark: windowing a 5,000,000 x 8 float32 series (lookback 336, horizon 96) must not copy it
per window. Prints the array size, the process RSS before and at peak, and the ratios. With `--series N`,
the many-series path instead: N series of `--rows-per-series` rows in one long table (10,000 x 2,000 of one
column), split and scaled per series and cut into windows that stay inside one series, batches drawn.

    python bench/memory.py [--rows 5000000] [--columns 8] [--lookback 336] [--horizon 96]
    python bench/memory.py --series 10000 [--rows-per-series 2000] [--columns 1]
"""

from __future__ import annotations

import argparse
import resource

import numpy as np
import pandas as pd
import torch

from bilstm.windows import make_windows, numpy_windows


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--lookback", type=int, default=336)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--series", type=int, default=0, help="many series: how many (0: one series)")
    parser.add_argument("--rows-per-series", type=int, default=2000)
    args = parser.parse_args()
    if args.series:
        many_series(args)
        return

    before = rss_mb()
    values = np.random.default_rng(0).standard_normal((args.rows, args.columns), dtype=np.float32)
    array_mb = values.nbytes / 2**20
    windows = make_windows(values, args.lookback, args.horizon, n_targets=1)
    inputs, targets = numpy_windows(values, args.lookback, args.horizon)
    rng = np.random.default_rng(1)
    checksum = 0.0
    for _ in range(20):  # batches are the only copies: 512 windows each
        index = torch.from_numpy(rng.integers(0, len(windows), 512))
        x, y = windows.batch(index)
        checksum += float(x.sum() + y.sum()) + float(
            inputs[int(index[0])].sum() + targets[int(index[0])].sum()
        )
    peak = peak_rss_mb()
    rows = [
        ("series", f"{args.rows:,} x {args.columns} float32"),
        ("windows", f"{len(windows):,} (lookback {args.lookback}, horizon {args.horizon})"),
        ("array size", f"{array_mb:,.0f} MiB"),
        (
            "would be if copied per window",
            f"{len(windows) * (args.lookback + args.horizon) * args.columns * 4 / 2**30:,.0f} GiB",
        ),
        ("RSS before the array (interpreter + torch)", f"{before:,.0f} MiB"),
        ("peak RSS", f"{peak:,.0f} MiB"),
        ("peak RSS / array size", f"{peak / array_mb:.2f}x"),
        ("(peak RSS - RSS before) / array size", f"{(peak - before) / array_mb:.2f}x"),
    ]
    print_table(rows)
    assert np.isfinite(checksum)


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def many_series(args: argparse.Namespace) -> None:
    """The long-table path: per-series split, scalers and windows over one contiguous array."""
    from bilstm.config import PipelineConfig, with_overrides
    from bilstm.data import SeriesTable
    from bilstm.pipeline import make_train_windows, split_and_scale

    before = rss_mb()
    count, length, columns = args.series, args.rows_per_series, args.columns
    rows = count * length
    values = np.random.default_rng(0).standard_normal((rows, columns), dtype=np.float32)
    names = [f"c{i}" for i in range(columns)]
    start = np.datetime64("2020-01-01T00:00", "ns")
    times = start + (np.arange(rows) % length).astype("timedelta64[h]")
    panel = SeriesTable(
        frame=pd.DataFrame(values, columns=names, index=pd.DatetimeIndex(times), copy=False),
        ids=np.array([f"s{i}" for i in range(count)], dtype=object),
        offsets=np.arange(count + 1) * length,
        file_rows=np.arange(1, rows + 1),
        source="synthetic",
        name="synthetic",
        series_column="id",
        input_columns=names,
        target_columns=names[-1:],
        freq="h",
    )
    input_mb = values.nbytes / 2**20
    config = with_overrides(
        PipelineConfig(),
        {
            "data.series_column": "id",
            "data.targets": names[-1:],
            "data.setting": "S" if columns == 1 else "MS",
            "window.lookback": args.lookback,
            "window.horizon": args.horizon,
        },
    )
    prepared = split_and_scale(panel, config)
    train, val = make_train_windows(prepared, config)
    checksum = 0.0
    generator = torch.Generator().manual_seed(0)
    order = train.draw(generator)
    for batch in range(20):  # batches are the only copies: 512 windows each
        x, y = train.batch(order[batch * 512 : (batch + 1) * 512])
        checksum += float(x.sum() + y.sum())
    peak = peak_rss_mb()
    window_rows = args.lookback + args.horizon
    print_table(
        [
            ("series", f"{count:,} x {length:,} rows x {columns} column(s) (float32 in, float64 read)"),
            ("train windows", f"{len(train):,} (lookback {args.lookback}, horizon {args.horizon})"),
            ("input array size", f"{input_mb:,.0f} MiB"),
            ("would be if copied per window", f"{len(train) * window_rows * columns * 4 / 2**30:,.0f} GiB"),
            ("RSS before the array (interpreter + torch)", f"{before:,.0f} MiB"),
            ("peak RSS", f"{peak:,.0f} MiB"),
            ("(peak RSS - RSS before) / input array size", f"{(peak - before) / input_mb:.2f}x"),
        ]
    )
    assert np.isfinite(checksum) and len(val) == count


if __name__ == "__main__":
    main()
