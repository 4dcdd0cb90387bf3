"""What several test files share: the tiny `bilstm train` job on the synthetic series
(`conftest.synthetic_frame`) as command-line arguments, the CLI twin of `conftest.tiny`."""

from __future__ import annotations


def tiny_args(epochs: int = 3, *extra: str) -> list[str]:
    """`bilstm train` options for a job of seconds: lookback 48, horizon 12, one layer of 16, `epochs`
    epochs; `extra` options come last and win."""
    return [
        "--time-column", "timestamp", "--target", "y", "--lookback", "48", "--horizon", "12",
        "--epochs", str(epochs), "--set", "model.hidden_size=16", "--set", "model.num_layers=1",
        "--set", "train.lr=0.005", *extra,
    ]  # fmt: skip
