"""Scale-out costs: the default job (`bilstm train`) on MLflow's embedded SQLite store against an MLflow
server on PostgreSQL with proxied artifacts (wall time, and the registry's register + promote), and a 4-fold
`bilstm backtest` in one process against 2 Dask workers (a local cluster, and a running scheduler).

    python bench/scale.py                                    # about 10 minutes; prints the table
    python bench/scale.py --epochs 1 --folds 2 --repeats 1   # a smoke run

Every command runs in a fresh directory against one Prefect server started here (PREFECT_API_URL, as under
`bilstm dashboard`), so that no run pays for a temporary server and the register and promote seconds can be
read back: they are the run's `register_model` and `promote` task runs as Prefect recorded them (promote
includes the champion's scoring and the smoke test of the registered model). A store's first run registers
version 1 (no champion yet), its later runs retrain against a champion. PostgreSQL, the MLflow server and the
Dask scheduler with its workers are started here (tests/servers.py) and stopped by their PIDs. The results
go to bench/scale.json (no password in them).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from overhead import prefect_server

from deployments.malloc_tuning import with_tuned_malloc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/servers.py: the servers the tests run
from deployments.processes import free_port, stop_group  # noqa: E402
from tests.servers import (  # noqa: E402
    postgres_bindir,
    start_dask_cluster,
    start_postgres,
    start_proxied_mlflow_server,
)

BILSTM = str(Path(sys.executable).with_name("bilstm"))
STORES = {"sqlite": "SQLite file (embedded default)", "postgres": "MLflow server on PostgreSQL, proxied"}
BACKTESTS = {
    "1 process": [],
    "local cluster, --workers 2": ["--workers", "2"],
    "scheduler + 2 workers, --dask-address": None,  # the address of the cluster started here
}


def run_json(command: list[str], cwd: str, env: dict[str, str]) -> tuple[float, dict]:
    """Wall seconds of `command` and the JSON summary on its last stdout line."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:3])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def task_seconds(flow_run_id: str, api_url: str) -> dict[str, float]:
    """Seconds from start to end of each task run of the flow run, by task name (e.g. `register_model`)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    this_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(flow_run_filter=this_run)
    return {
        run.name.rsplit("-", 1)[0]: (run.end_time - run.start_time).total_seconds()
        for run in task_runs
        if run.start_time and run.end_time
    }


def bench_training(tmp: Path, env: dict, api_url: str, epochs: int | None, repeats: int) -> list[dict]:
    """`bilstm train --json` `repeats` times on each store, the stores alternating; a row per run."""
    if postgres_bindir() is None:
        raise SystemExit("no PostgreSQL server (initdb) here: install Debian's `postgresql`")
    postgres = start_postgres(postgres_bindir())
    server, port = None, free_port()
    try:
        postgres.create_database("mlflow")
        database = postgres.url("mlflow", driver="postgresql+psycopg")
        (tmp / "mlflow-server").mkdir()
        server = start_proxied_mlflow_server(tmp / "mlflow-server", port, database)
        uris = {"sqlite": None, "postgres": f"http://127.0.0.1:{port}"}
        command = [BILSTM, "train", "--json", *([] if epochs is None else ["--epochs", str(epochs)])]
        rows = []
        for repeat in range(repeats):
            for store, uri in uris.items():
                folder = tmp / f"train-{store}"  # the same folder each time: the SQLite store lives there
                folder.mkdir(exist_ok=True)
                store_env = env | ({} if uri is None else {"MLFLOW_TRACKING_URI": uri})
                seconds, summary = run_json(command, str(folder), store_env)
                tasks = task_seconds(summary["flow_run_id"], api_url)
                row = {
                    "store": store,
                    "run": repeat + 1,
                    "wall_s": seconds,
                    "version": summary["model_version"],
                }
                row |= {"train_s": summary["train_seconds"], "epochs_run": summary["epochs_run"]}
                row |= {"register_s": tasks["register_model"], "promote_s": tasks["promote"]}
                row |= {
                    "promoted": summary["promoted"],
                    "test_mse_scaled": summary["metrics"]["test_mse_scaled"],
                }
                print(f"  train on {store}, run {repeat + 1}: {seconds:.1f} s", flush=True)
                rows.append(row)
        return rows
    finally:
        if server is not None:
            stop_group(server)
        postgres.stop()


def bench_backtests(tmp: Path, env: dict, folds: int, epochs: int | None, repeats: int) -> list[dict]:
    """`bilstm backtest --folds N --json` `repeats` times in each place, the places alternating; a row per
    run. The running cluster's workers start once, before the first of its runs."""
    cluster = start_dask_cluster(tmp, workers=2, env=env)
    try:
        command = [BILSTM, "backtest", "--folds", str(folds), "--json"]
        command += [] if epochs is None else ["--epochs", str(epochs)]
        rows = []
        for repeat in range(repeats):
            for place, options in BACKTESTS.items():
                options = ["--dask-address", cluster.address] if options is None else options
                with tempfile.TemporaryDirectory(dir=tmp) as folder:
                    seconds, summary = run_json([*command, *options], folder, env)
                row = {
                    "place": place,
                    "run": repeat + 1,
                    "wall_s": seconds,
                    "flow_s": summary["wall_seconds"],
                }
                row |= {"mean_test_mse_scaled": summary["metrics"]["mean_test_mse_scaled"]}
                row |= {"fold_mse": [fold["test_mse_scaled"] for fold in summary["folds"]]}
                row |= {"workers": sorted({fold["worker"] for fold in summary["folds"]})}
                print(f"  backtest, {place}, run {repeat + 1}: {seconds:.1f} s", flush=True)
                rows.append(row)
        return rows
    finally:
        cluster.stop()


def print_tables(training: list[dict], backtests: list[dict], epochs: int | None, folds: int) -> None:
    shown = "the config's epochs, early stopping" if epochs is None else f"--epochs {epochs}"
    print(f"\ndefault job: bilstm train --json ({shown})")
    print(
        f"{'MLflow store':<38} {'run':>3} {'wall s':>7} {'train s':>7} {'register s':>10} {'promote s':>9}"
        "  version"
    )
    for row in training:
        print(
            f"{STORES[row['store']]:<38} {row['run']:>3} {row['wall_s']:7.1f} {row['train_s']:7.1f}"
            f" {row['register_s']:10.2f} {row['promote_s']:9.2f}"
            f"  v{row['version']}{', promoted' if row['promoted'] else ''}"
        )
    print(f"\n{folds}-fold backtest: bilstm backtest --folds {folds} --json")
    print(f"{'folds run in':<38} {'wall s (each run)':>18} {'mean':>6} {'flow s':>7} {'x 1 process':>11}")
    mean_wall = {}
    for place in BACKTESTS:
        runs = [row for row in backtests if row["place"] == place]
        mean_wall[place] = statistics.mean(row["wall_s"] for row in runs)
        each = " ".join(f"{row['wall_s']:.1f}" for row in runs)
        flow_s = statistics.mean(row["flow_s"] for row in runs)
        ratio = mean_wall[place] / mean_wall["1 process"]
        print(f"{place:<38} {each:>18} {mean_wall[place]:6.1f} {flow_s:7.1f} {ratio:10.2f}x")
    scores = {round(row["mean_test_mse_scaled"], 12) for row in backtests}
    print(
        f"mean test MSE (scaled) over the folds, every run: {', '.join(f'{s:.6f}' for s in sorted(scores))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--epochs", type=int, help="bilstm train and backtest --epochs [default: the config's]"
    )
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each command in each place")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("scale.json"))
    args = parser.parse_args()
    env = with_tuned_malloc(dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true"))
    env.pop("MLFLOW_TRACKING_URI", None)
    tmp = Path(tempfile.mkdtemp(prefix="bilstm-scale-"))
    try:
        with prefect_server(f"{tmp}/prefect", env) as api_url:
            env["PREFECT_API_URL"] = api_url
            training = bench_training(tmp, env, api_url, args.epochs, args.repeats)
            backtests = bench_backtests(tmp, env, args.folds, args.epochs, args.repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_tables(training, backtests, args.epochs, args.folds)
    results = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python bench/scale.py", *sys.argv[1:]]),
        "training": training,
        "backtests": backtests,
    }
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
