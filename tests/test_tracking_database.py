"""A database as MLFLOW_TRACKING_URI (`postgresql+psycopg://user:password@host:port/db`, which MLflow opens
without a server) that is wrong: `train`, `backtest`, `forecast` and `monitor` each fail within seconds with
one line naming the URL without its password: exit 3 where nothing answers (after the short retries), exit 2
where the URL is malformed or the database refuses it. The password is in no output and no JSON line. URLs
that are wrong before any connection are checked without a command or a server; a SQLite store's file that
is no database is named."""

import json
import os
import re
import subprocess
import time

import pytest

from deployments.processes import free_port
from tests.bad_input_files import error_lines
from tests.helpers import BILSTM, flow_run_states, synthetic_frame, tiny_args

SECRET = "s3cr3t-Pa55"
FIX = "check the user, password and database name in MLFLOW_TRACKING_URI"
TRAIN = ["train", "--data", "series.csv", *tiny_args(1), "--json"]
BACKTEST = ["backtest", "--data", "series.csv", *tiny_args(1), "--folds", "2", "--json"]
FORECAST = ["forecast", "--data", "series.csv", "--output", "f.csv", "--json"]
MONITOR = ["monitor", "--data", "series.csv", "--json"]

# (name, command, the URL with `{port}` (the cluster's) and `{closed}` (a port nobody listens on), exit code,
# the regex of the one error line with `{shown}`: the URL as it must appear, without user and password)
CASES = [
    (
        "refused connection",
        TRAIN,
        "postgresql+psycopg://bilstm:{secret}@127.0.0.1:{closed}/tracking_checks",
        3,
        r"database {shown} is unreachable \(\[Errno 111\] Connection refused\) after 3 tries; start it, or"
        r" point MLFLOW_TRACKING_URI at a running one$",
    ),
    (
        "wrong password",
        FORECAST,
        "postgresql+psycopg://bilstm:{secret}@127.0.0.1:{port}/tracking_checks",
        2,
        r'database {shown} refused the connection: password authentication failed for user "bilstm"; ' + FIX,
    ),
    (
        "no such database",
        MONITOR,
        "postgresql+psycopg://bilstm:{password}@127.0.0.1:{port}/nowhere",
        2,
        r'database {shown} refused the connection: database "nowhere" does not exist; ' + FIX,
    ),
    (
        "unknown driver",
        BACKTEST,
        "postgres://bilstm:{secret}@127.0.0.1:{port}/tracking_checks",
        2,
        r"MLFLOW_TRACKING_URI {shown}: no database driver 'postgres' here .*; for PostgreSQL write"
        r" postgresql\+psycopg://.*",
    ),
]


def without_user(uri: str) -> str:
    """`scheme://user:password@host...` -> `scheme://host...`: how error lines must show a URL."""
    return re.sub("//[^/@]*@", "//", uri, count=1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, postgres, prefect_server):
    """A working directory with the synthetic series, and a database `tracking_checks` in the test cluster
    (a name no other test creates: the cluster is shared by the session)."""
    postgres.create_database("tracking_checks")
    path = tmp_path_factory.mktemp("tracking-database")
    synthetic_frame().to_csv(path / "series.csv", index=False)
    return path


@pytest.mark.parametrize(
    ("command", "url", "code", "message"),
    [case[1:] for case in CASES],
    ids=[f"{case[0]} ({case[1][0]})" for case in CASES],
)
def test_a_wrong_tracking_database_fails_fast_with_one_line_naming_it_without_its_password(
    folder, postgres, command, url, code, message
):
    from prefect.settings import PREFECT_API_URL

    password = postgres.password  # the cluster's own, where a case needs the database to answer
    uri = url.format(secret=SECRET, password=password, port=postgres.port, closed=free_port())
    env = dict(
        os.environ,
        PREFECT_API_URL=PREFECT_API_URL.value(),
        MLFLOW_TRACKING_URI=uri,
        BILSTM_HOME=str(folder / "bilstm-home"),
        BILSTM_MALLOC_TUNING="0",
        BILSTM_TRACKING_RETRY_DELAYS="0.1,0.2",
    )
    flow_runs_before = flow_run_states()
    started = time.monotonic()

    done = subprocess.run(
        [BILSTM, *command], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )

    seconds = time.monotonic() - started
    assert done.returncode == code, done.stderr[-3000:]
    errors = error_lines(done.stderr)
    assert len(errors) == 1, done.stderr[-3000:]
    shown = re.escape(without_user(uri))
    assert re.fullmatch(message.format(shown=shown), errors[0]), errors[0]
    assert "Traceback" not in done.stderr
    for secret in (SECRET, password):
        assert secret not in done.stdout + done.stderr
    assert not (folder / "f.csv").exists()
    new = [state for run, state in flow_run_states().items() if run not in flow_runs_before]
    # train and backtest find the store wrong in their flow run; forecast and monitor before any starts, as
    # they look the model up in the registry first
    assert new == ([] if command[0] in ("forecast", "monitor") else ["FAILED"])
    assert seconds < 60  # not MLflow's own ten tries over about 100 s


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://bilstm:{secret}@db:pg/mlflow", "is not a database URL .* write it as"),
        ("postgresql+psycopg://bilstm:{secret}@db:99999/mlflow", ": port 99999 is not 1-65535$"),
        ("postgresql+psycopg://bilstm:{secret}@db:5432", " names no database; add it after the host"),
        ("postgresql+psycopg://bilstm:{secret}@db:5432/", " names no database; add it after the host"),
        ("postgresql+nodriver://bilstm:{secret}@db/mlflow", ": no database driver 'postgresql\\+nodriver'"),
        ("mssql+nodriver://db/mlflow?password={secret}", ": no database driver 'mssql\\+nodriver'"),
    ],
    ids=["port not a number", "port out of range", "no database name", "empty database name",
         "unknown driver", "password in the query"],
)  # fmt: skip
def test_a_malformed_database_url_is_bad_input_named_without_its_password(url, message):
    from tracking.databases import TrackingDatabaseError, reach_database

    uri = url.format(secret=SECRET)
    shown = without_user(uri).split("?")[0]

    with pytest.raises(TrackingDatabaseError) as raised:
        reach_database(uri, delays=[])

    assert raised.value.exit_code == 2
    line = str(raised.value)
    assert line.startswith(f"MLFLOW_TRACKING_URI {shown}") and re.search(message, line), line
    assert SECRET not in line


def test_a_database_as_tracking_uri_trains_and_registers_with_its_password_in_no_output(folder, postgres):
    """The right URL of the same database: MLflow opens it itself (no server), logging in with the URL's
    own credentials; the password shows nowhere."""
    from prefect.settings import PREFECT_API_URL

    postgres.create_database("direct")
    uri = postgres.url("direct", driver="postgresql+psycopg")
    env = dict(
        os.environ,
        PREFECT_API_URL=PREFECT_API_URL.value(),
        MLFLOW_TRACKING_URI=uri,
        BILSTM_HOME=str(folder / "bilstm-home"),
        BILSTM_MALLOC_TUNING="0",
    )

    done = subprocess.run([BILSTM, *TRAIN], cwd=folder, env=env, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    from mlflow import MlflowClient

    client = MlflowClient(uri, registry_uri=uri)
    version = client.get_model_version(summary["model_name"], summary["model_version"])
    assert version.run_id == summary["run_id"]
    run = client.get_run(summary["run_id"])
    assert postgres.password not in done.stdout + done.stderr + str(run.data.params) + str(run.data.tags)


def test_a_sqlite_store_that_is_no_database_is_named_in_one_line(tmp_path):
    synthetic_frame().to_csv(tmp_path / "series.csv", index=False)
    (tmp_path / "mlflow.db").write_bytes(b"\x00garbage, not SQLite\xff" * 200)
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}

    done = subprocess.run(
        [BILSTM, *FORECAST], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 2, done.stderr[-3000:]
    assert error_lines(done.stderr) == [
        f"{tmp_path}/mlflow.db: the MLflow tracking store cannot be read (file is not a database);"
        " restore it from a backup, move it aside to start a new store, or point MLFLOW_TRACKING_URI at"
        " another one"
    ]
    assert "SELECT" not in done.stderr
