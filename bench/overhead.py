"""Flow overhead: wall time of the default `bilstm train` (Prefect + MLflow, registration and the champion
gate included) against the library's `fit` alone on the same config, same allocator setting.

    python bench/overhead.py        # runs in a temporary directory (a few minutes); prints the table

Rows: `fit` timed inside a process (the reference: the library's training alone, which the pipeline's extra
time is measured against); the same as a whole Python script (imports and data loading included, what a
user runs without the pipeline); `bilstm train` on fresh Prefect and MLflow state (a new machine: both
databases are created), again on that state, and against a Prefect server that is already running
(PREFECT_API_URL, as under `bilstm dashboard`; started and stopped here, by its PID).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deployments.malloc_tuning import with_tuned_malloc

LIBRARY_FIT = """
import json, time
from bilstm import pipeline
from bilstm.config import PipelineConfig
from bilstm.data import load_table
from bilstm.defaults import resolve
config = PipelineConfig()
series = load_table(config.data)
config = resolve(config, series).config
prepared = pipeline.split_and_scale(series, config)
windows = pipeline.make_train_windows(prepared, config)
started = time.perf_counter()
forecaster = pipeline.new_forecaster(prepared, config)
training_log = pipeline.fit_forecaster(forecaster, windows, config, progress=False)
print(json.dumps({"fit_s": time.perf_counter() - started, "epochs": training_log.epochs_run}))
"""


def timed(command: list[str], **kwargs) -> tuple[float, dict]:
    """Wall seconds of `command` and the JSON object on its last stdout line."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, **kwargs)
    return time.perf_counter() - started, json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def prefect_server(home: str, env: dict[str, str]) -> Iterator[str]:
    """A real `prefect server start` on a free loopback port; yields its API URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    prefect = str(Path(sys.executable).parent / "prefect")
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env | {"PREFECT_HOME": home}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()  # --help, no options
    env = with_tuned_malloc(dict(os.environ))
    bilstm = str(Path(sys.executable).parent / "bilstm")
    with tempfile.TemporaryDirectory() as tmp:
        script_s, fit = timed([sys.executable, "-c", LIBRARY_FIT], env=env)
        train_env = env | {"PREFECT_HOME": f"{tmp}/prefect"}
        first_s, first = timed([bilstm, "train", "--json"], env=train_env, cwd=tmp)
        later_s, later = timed([bilstm, "train", "--json"], env=train_env, cwd=tmp)
        with prefect_server(f"{tmp}/served", env) as api_url:
            served_s, served = timed(
                [bilstm, "train", "--json"], env=env | {"PREFECT_API_URL": api_url}, cwd=tmp
            )
    fit_s = fit["fit_s"]
    rows = [
        ("library fit alone, in-process (default config)", fit_s, f"{fit['epochs']} epochs", ""),
        ("library script: imports + data + fit", script_s, "", ""),
        ("bilstm train, fresh Prefect + MLflow state", first_s, f"{first['epochs_run']} epochs", fit_s),
        ("  of which training (train_seconds)", first["train_seconds"], "", ""),
        ("bilstm train again, same state", later_s, f"{later['epochs_run']} epochs", fit_s),
        ("  of which training (train_seconds)", later["train_seconds"], "", ""),
        ("bilstm train, Prefect server already running", served_s, f"{served['epochs_run']} epochs", fit_s),
        ("  of which training (train_seconds)", served["train_seconds"], "", ""),
    ]
    print(f"{'':<48} {'wall s':>7}  {'':<9} {'over fit':>8}  {'over script':>11}")
    for name, seconds, note, reference in rows:
        over_fit = f"{seconds / reference - 1:+.0%}" if reference else ""
        over_script = f"{seconds / script_s - 1:+.0%}" if reference else ""
        print(f"{name:<48} {seconds:7.1f}  {note:<9} {over_fit:>8}  {over_script:>11}")


if __name__ == "__main__":
    main()
