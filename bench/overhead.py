"""Flow overhead: wall time of the default `bilstm train` (embedded Prefect + MLflow, registration and the
champion gate included) against the library's `fit` alone on the same config, same allocator setting.

    python bench/overhead.py        # runs in a temporary directory; prints both and the overhead
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bilstm.runtime import with_tuned_malloc

LIBRARY_FIT = """
import json, time
from bilstm import pipeline
from bilstm.config import PipelineConfig
from bilstm.data import load_series
config = PipelineConfig()
prepared = pipeline.split_and_scale(load_series(config.data), config)
windows = pipeline.make_train_windows(prepared, config)
started = time.perf_counter()
_, history = pipeline.train_forecaster(prepared, windows, config, progress=False)
print(json.dumps({"fit_s": time.perf_counter() - started, "epochs": history.epochs_run}))
"""


def main() -> None:
    env = with_tuned_malloc(dict(os.environ))
    bilstm = str(Path(sys.executable).parent / "bilstm")
    with tempfile.TemporaryDirectory() as tmp:
        fit = subprocess.run(
            [sys.executable, "-c", LIBRARY_FIT], env=env, capture_output=True, text=True, check=True
        )
        fit_result = json.loads(fit.stdout.strip().splitlines()[-1])
        started = time.perf_counter()
        train = subprocess.run([bilstm, "train", "--json"], env=env | {"PREFECT_HOME": f"{tmp}/prefect"},
                               cwd=tmp, capture_output=True, text=True, check=True)  # fmt: skip
        wall = time.perf_counter() - started
    summary = json.loads(train.stdout.strip().splitlines()[-1])
    rows = [
        ("library fit alone (default config)", f"{fit_result['fit_s']:.1f} s, {fit_result['epochs']} epochs"),
        ("bilstm train, wall (fresh Prefect + MLflow)", f"{wall:.1f} s, {summary['epochs_run']} epochs"),
        ("  of which training (train_seconds)", f"{summary['train_seconds']:.1f} s"),
        ("overhead of the flow over fit", f"{wall / fit_result['fit_s'] - 1:.0%}"),
    ]
    for name, value in rows:
        print(f"{name:<45} {value}")


if __name__ == "__main__":
    main()
