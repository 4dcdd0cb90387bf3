"""Bad-input catalogue: each case runs the real `bilstm` command in one working directory that already holds
a registered champion, and the table shows the exit code, the first line of the error (or, for unsorted
rows, of the warning) and whether the registry (versions and aliases) is unchanged afterwards.

    python bench/bad_inputs.py        # about 5-6 minutes on 2 cores: every case starts Prefect afresh
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

BILSTM = str(Path(sys.executable).parent / "bilstm")
H = pd.Timedelta(hours=10)  # rows 301.. moved 10 hours later: an 11-step gap
WARNS = {"unsorted history (sorted, warns)"}  # documented behaviour: exit 0 with a warning
TINY = ["--time-column", "timestamp", "--target", "y", "--lookback", "48", "--horizon", "12", "--epochs", "3",
        "--set", "model.hidden_size=16", "--set", "model.num_layers=1",
        "--set", "train.lr=0.005"]  # fmt: skip


def series(rows: int = 1200) -> pd.DataFrame:
    """A daily sine on a random walk: learnable, and seasonal naive is not perfect on it."""
    t, rng = np.arange(rows), np.random.default_rng(0)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "x": np.cos(2 * np.pi * t / 24),
            "y": 10 + 3 * np.sin(2 * np.pi * t / 24) + np.cumsum(rng.normal(0, 0.3, rows)),
        }
    )


def write(folder: Path, name: str, frame: pd.DataFrame) -> str:
    path = folder / name
    frame.to_csv(path, index=False)
    return str(path)


def cases(folder: Path, good: str) -> list[tuple[str, list[str]]]:
    f = series()
    (folder / "empty.csv").write_text("timestamp,x,y\n")
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (folder / "data.xlsx").write_text("not a spreadsheet")
    (folder / "broken.yaml").write_text("train: [epochs: 3\n")
    (folder / "out").mkdir(exist_ok=True)
    return [
        ("missing file", ["train", "--data", str(folder / "nowhere.csv"), *TINY]),
        ("empty file", ["train", "--data", str(folder / "empty.csv"), *TINY]),
        ("unreadable file", ["train", "--data", str(folder / "binary.csv"), *TINY]),
        ("unsupported format", ["train", "--data", str(folder / "data.xlsx"), *TINY]),
        (
            "missing time column",
            ["train", "--data", write(folder, "a.csv", f.drop(columns="timestamp")), *TINY],
        ),
        (
            "unparseable timestamps",
            [
                "train",
                "--data",
                write(
                    folder, "b.csv", f.assign(timestamp=f.timestamp.astype(str).where(f.index != 9, "soon"))
                ),
                *TINY,
            ],
        ),  # noqa: E501
        (
            "duplicate timestamps",
            [
                "train",
                "--data",
                write(folder, "c.csv", f.assign(timestamp=f.timestamp.where(f.index != 5, f.timestamp[4]))),
                *TINY,
            ],
        ),  # noqa: E501
        (
            "NaN in target",
            ["train", "--data", write(folder, "d.csv", f.assign(y=f.y.where(f.index != 50))), *TINY],
        ),
        (
            "inf in feature",
            ["train", "--data", write(folder, "e.csv", f.assign(x=f.x.where(f.index != 7, np.inf))), *TINY],
        ),  # noqa: E501
        (
            "non-numeric feature",
            [
                "train",
                "--data",
                write(folder, "g.csv", f.assign(x=f.x.astype(object).where(f.index != 3, "abc"))),
                *TINY,
            ],
        ),  # noqa: E501
        ("target column missing", ["train", "--data", write(folder, "h.csv", f.drop(columns="y")), *TINY]),
        (
            "missing values in two columns",
            [
                "train",
                "--data",
                write(folder, "q.csv", f.assign(x=f.x.where(f.index != 8), y=f.y.where(f.index != 50))),
                *TINY,
            ],
        ),
        (
            "several series in one long table",
            [
                "train",
                "--data",
                write(folder, "r.csv", pd.concat([f.assign(sensor="a"), f.assign(sensor="b")])),
                *TINY,
            ],
        ),
        (
            "stamps with and without offsets",
            [
                "train",
                "--data",
                write(
                    folder,
                    "s.csv",
                    f.assign(
                        timestamp=f.timestamp.dt.tz_localize("UTC")
                        .astype(str)
                        .where(f.index != 11, str(f.timestamp[11]))
                    ),
                ),
                *TINY,
            ],
        ),
        ("unknown time zone", ["train", "--data", good, *TINY, "--set", "data.timezone=Europe/Berln"]),
        ("too few rows", ["train", "--data", write(folder, "i.csv", f.head(50)), *TINY]),
        (
            "gap beyond data.max_gap",
            [
                "train",
                "--data",
                write(folder, "m.csv", f.assign(timestamp=f.timestamp.where(f.index < 300, f.timestamp + H))),
                *TINY,
            ],
        ),
        ("constant target", ["train", "--data", write(folder, "n.csv", f.assign(y=5.0)), *TINY]),
        ("cycle longer than the train rows", ["train", "--data", good, *TINY, "--set", "scaler.cycle=5000"]),
        ("data.max_gap below 1", ["train", "--data", good, *TINY, "--set", "data.max_gap=0.5"]),
        ("lookback 0", ["train", "--data", good, *TINY, "--lookback", "0"]),
        ("absurd horizon", ["train", "--data", good, *TINY, "--horizon", "1000000"]),
        ("invalid config value", ["train", "--data", good, *TINY, "--set", "train.lr=-1"]),
        ("unknown config key", ["train", "--data", good, *TINY, "--set", "model.size=3"]),
        ("unknown preset", ["train", "--preset", "etth1-s5"]),
        (
            "channel independence with MS",
            ["train", "--data", good, *TINY, "--set", "model.channel_independent=1"],
        ),
        ("missing config file", ["train", "--config", str(folder / "none.yaml")]),
        ("config file not YAML", ["train", "--config", str(folder / "broken.yaml")]),
        ("unknown model alias", ["forecast", "--model", "models:/bilstm-forecaster@nope", "--data", good]),
        ("unknown model name", ["forecast", "--model", "models:/no-such-model@champion", "--data", good]),
        ("history lacks a column", ["forecast", "--data", write(folder, "j.csv", f.drop(columns="x"))]),
        (
            "history with other columns",
            ["forecast", "--data", write(folder, "o.csv", f.rename(columns={"x": "temperature"}))],
        ),
        ("history shorter than lookback", ["forecast", "--data", write(folder, "k.csv", f.head(20))]),
        ("unsorted history (sorted, warns)", ["forecast", "--data", write(folder, "p.csv", f.iloc[::-1])]),
        ("output folder missing", ["forecast", "--data", good, "--output", str(folder / "no" / "f.csv")]),
        (
            "output format unsupported",
            ["forecast", "--data", good, "--output", str(folder / "out" / "f.xlsx")],
        ),
    ]


def registry(tracking: str) -> list:
    """(model, aliases, versions) of every registered model: what a bad input must leave untouched."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking, registry_uri=tracking)
    return sorted(
        (
            model.name,
            tuple(sorted((alias, str(version)) for alias, version in model.aliases.items())),
            tuple(sorted(str(v.version) for v in client.search_model_versions(f"name='{model.name}'"))),
        )
        for model in client.search_registered_models()
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = dict(os.environ, PREFECT_HOME=str(folder / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        tracking = env["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
        good = write(folder, "good.csv", series())
        run = subprocess.run(
            [BILSTM, "train", "--data", good, *TINY], cwd=folder, env=env, capture_output=True
        )
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        assert any("champion" in dict(aliases) for _, aliases, _ in registry(tracking)), (
            "the setup run was not promoted"
        )
        rows = []
        for name, args in cases(folder, good):
            before = registry(tracking)
            started = time.perf_counter()
            result = subprocess.run([BILSTM, *args], cwd=folder, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            lines = result.stderr.splitlines()
            if name in WARNS:
                lines = [line.split("UserWarning: ", 1)[1] for line in lines if "not sorted" in line]
            else:
                lines = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
            message = lines[0] if lines else "(no error line)"
            unchanged = "yes" if registry(tracking) == before else "NO"
            rows.append((name, result.returncode, seconds, message, unchanged))
    print(f"{'input':<34} {'exit':>4} {'s':>5}  {'registry unchanged':<18}  message")
    for name, code, seconds, message, unchanged in rows:
        print(f"{name:<34} {code:>4} {seconds:>5.1f}  {unchanged:<18}  {message[:150]}")
    clear = sum(
        1
        for name, code, _, message, unchanged in rows
        if code == (0 if name in WARNS else 2) and unchanged == "yes" and message != "(no error line)"
    )
    print(f"\n{clear} of {len(rows)} cases as documented: exit 2 and one error line (unsorted rows: sorted")
    print("with a warning), registry unchanged")


if __name__ == "__main__":
    main()
