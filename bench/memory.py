"""Memory benchmark: windowing a 5,000,000 x 8 float32 series (lookback 336, horizon 96) must not copy it
per window. Prints the array size, the process RSS before and at peak, and the ratios.

    python bench/memory.py [--rows 5000000] [--columns 8] [--lookback 336] [--horizon 96]
"""

from __future__ import annotations

import argparse
import resource

import numpy as np
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
    args = parser.parse_args()

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
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    assert np.isfinite(checksum)


if __name__ == "__main__":
    main()
