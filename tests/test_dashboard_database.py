"""`bilstm dashboard --database`: both servers on one PostgreSQL database (Prefect in schema `prefect`, MLflow
in `mlflow`, artifacts served by MLflow), started as the docs' one-box recipe says, with a training from
another directory that knows only the two URLs; a malformed or refusing URL stops it before any server, and no
password shows anywhere."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from deployments.database import Database, DatabaseUrlError
from deployments.processes import alive, descendants, free_port, wait_for
from tests.helpers import BILSTM, synthetic_frame, tiny_args

RECIPES = Path(__file__).parents[1] / "docs" / "how-to" / "scale-out.md"
EXAMPLE_DATABASE = "postgresql://USER:PASSWORD@DBHOST:5432/bilstm"


def one_box_recipe() -> dict[str, str]:
    """The scale-out page's block after `<!-- recipe: one-box -->`, in three parts: the settings at its top,
    what runs on the box, what runs on each other machine (split at their `# on ...` comment lines)."""
    block = re.search(r"<!-- recipe: one-box -->\n```bash\n(.*?)```", RECIPES.read_text(), re.DOTALL)
    assert block, f"{RECIPES} has no one-box recipe"
    settings, box, worker = re.split(r"^# on .*\n", block.group(1), flags=re.MULTILINE)
    return {"settings": settings, "box": box, "worker": worker}


def machine_env(home: Path) -> dict[str, str]:
    """A fresh machine's environment: this Python's commands on PATH, its own home, no Prefect, MLflow or
    bilstm settings (telemetry off, as in every test)."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_", "BILSTM_"))}
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return kept | {
        "PATH": path,
        "HOME": str(home),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "BILSTM_MALLOC_TUNING": "0",
    }


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("mysql://me:s3cret@db:3306/bilstm", "not a PostgreSQL URL"),
        ("postgresql://me:s3cret@db:99999/bilstm", "the port is not a number"),
        ("postgresql://me:s3cret@db:5432", "name one database"),
        ("postgresql://me:s3cret@db:5432/bilstm?sslmode=require", "query parameters are not passed on"),
    ],
)
def test_a_malformed_database_url_names_itself_without_the_password(url, why):
    with pytest.raises(DatabaseUrlError, match=why) as error:
        Database.parse(url)
    assert "s3cret" not in str(error.value) and "me:***@db" in str(error.value)


def test_each_server_reads_its_own_schema_of_the_one_database_by_environment():
    database = Database.parse("postgresql://me:p%40ss@db.example.org:5433/team")
    assert database.redacted == "postgresql://me:***@db.example.org:5433/team"
    assert database.prefect_environment() == {
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": "postgresql+asyncpg://me:p%40ss@db.example.org:5433/team",
        "PREFECT_SERVER_DATABASE_SQLALCHEMY_CONNECT_ARGS_SEARCH_PATH": "prefect, public",
    }
    assert database.mlflow_environment() == {
        "MLFLOW_BACKEND_STORE_URI": "postgresql+psycopg://me:p%40ss@db.example.org:5433/team"
        "?options=-csearch_path%3Dmlflow"
    }


@pytest.mark.slow  # runs the bilstm command
def test_a_bad_database_stops_the_dashboard_before_any_server(tmp_path, postgres):
    """Exit 2 for a malformed URL, 3 for one that refuses (a wrong password), one line each naming the URL
    without its password, nothing started (no server log)."""
    wrong = postgres.url("postgres").replace(postgres.password, "not-the-password")
    for url, code, shown in [
        ("postgres://bilstm:s3cret@127.0.0.1:x/db", 2, "postgres://bilstm:***@127.0.0.1:x/db"),
        (wrong, 3, f"postgresql://bilstm:***@127.0.0.1:{postgres.port}/postgres refused the connection"),
    ]:
        done = subprocess.run(
            [BILSTM, "dashboard", "--state-dir", str(tmp_path), "--database", url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == code, done.stderr
        assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1 and shown in done.stderr
        assert "s3cret" not in done.stderr and "not-the-password" not in done.stderr
    assert not (tmp_path / ".bilstm").exists()


@pytest.mark.slow  # starts PostgreSQL, the dashboard's servers and a training
def test_the_one_box_recipe_trains_from_another_machine_into_one_postgresql_database(tmp_path, postgres):
    import psycopg  # the `cluster` extra; imported here so that `-m "not slow"` collects without it

    url = postgres.create_database("onebox")
    prefect_port, mlflow_port = free_port(), free_port()
    recipe = one_box_recipe()
    settings = re.sub(r"^BOX=\S+", "BOX=127.0.0.1", recipe["settings"], flags=re.MULTILINE)
    settings = re.sub(r"^PREFECT_PORT=\d+", f"PREFECT_PORT={prefect_port}", settings, flags=re.MULTILINE)
    settings = re.sub(r"^MLFLOW_PORT=\d+", f"MLFLOW_PORT={mlflow_port}", settings, flags=re.MULTILINE)
    assert EXAMPLE_DATABASE in recipe["box"] and re.search(
        r"^bilstm train .*$", recipe["worker"], re.MULTILINE
    )
    box_script = settings + recipe["box"].replace(EXAMPLE_DATABASE, url)
    # the recipe trains on the default config; here a job of seconds, with its summary as JSON
    worker_script = settings + re.sub(
        r"^(bilstm train .*)$", lambda line: " ".join([line.group(1), *tiny_args(1), "--json"]),
        recipe["worker"], flags=re.MULTILINE,
    )  # fmt: skip

    box, worker = tmp_path / "box", tmp_path / "worker"
    box.mkdir(), worker.mkdir()
    synthetic_frame().to_csv(worker / "series.csv", index=False)
    (tmp_path / "box.sh").write_text(box_script)  # a file, not `bash -c`: its text holds the password
    (tmp_path / "worker.sh").write_text(worker_script)
    output = open(box / "dashboard.out", "w")  # noqa: SIM115 - closed below
    dashboard = subprocess.Popen(
        ["bash", "-eu", tmp_path / "box.sh"], cwd=box, env=machine_env(box), stdout=output,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{prefect_port}/api/health", process=dashboard)
        wait_for(f"http://127.0.0.1:{mlflow_port}/health", process=dashboard)
        everyone = [dashboard.pid, *descendants(dashboard.pid)]
        command_lines = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in everyone]
        with urllib.request.urlopen(f"http://127.0.0.1:{prefect_port}/api/admin/settings") as response:
            served_settings = response.read().decode()  # what the Prefect UI's Settings page shows
        trained = subprocess.run(
            ["bash", "-eu", tmp_path / "worker.sh"], cwd=worker, env=machine_env(worker), capture_output=True,
            text=True, timeout=600,
        )  # fmt: skip
    finally:
        everyone = [dashboard.pid, *descendants(dashboard.pid)]
        with contextlib.suppress(ProcessLookupError):  # the dashboard may have stopped by itself
            os.killpg(dashboard.pid, signal.SIGTERM)  # Ctrl-C's signal to the whole foreground job
        deadline = time.monotonic() + 120  # the shell exits at once, the dashboard once its servers stopped
        while any(alive(pid) for pid in everyone) and time.monotonic() < deadline:
            time.sleep(0.5)
        dashboard.wait(timeout=10)
        output.close()
    assert trained.returncode == 0, (trained.stdout + trained.stderr)[-3000:]
    assert [pid for pid in everyone if alive(pid)] == []

    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    # the dashboard stopped; the run is read back from PostgreSQL and the box's folder alone
    with psycopg.connect(url) as connection:
        tables = dict(
            connection.execute(
                "SELECT table_schema, count(*) FROM information_schema.tables"
                " WHERE table_schema IN ('prefect', 'mlflow', 'public') GROUP BY table_schema"
            ).fetchall()
        )
        [(run_status, flow_run_id)] = connection.execute(
            "SELECT r.status, t.value FROM mlflow.runs r JOIN mlflow.tags t ON t.run_uuid = r.run_uuid"
            " WHERE r.run_uuid = %s AND t.key = 'prefect.flow_run_id'",
            [summary["run_id"]],
        ).fetchall()
        versions = connection.execute("SELECT name, version FROM mlflow.model_versions").fetchall()
        flow_runs = connection.execute(
            "SELECT state_type FROM prefect.flow_run WHERE id = %s", [flow_run_id]
        ).fetchall()
    assert tables.get("public", 0) == 0 and tables["prefect"] > 10 and tables["mlflow"] > 10
    assert run_status == "FINISHED" and flow_runs == [("COMPLETED",)]
    assert versions == [("bilstm-forecaster", int(summary["model_version"]))]
    stored = {p.name for p in (box / "mlartifacts").rglob("*") if p.is_file()}
    assert {"MLmodel", "metrics_by_horizon.csv", "loss_curve.png"} <= stored
    assert [p for p in worker.rglob("*") if p.name in ("mlruns", "mlartifacts", "mlflow.db")] == []
    assert not (box / "mlflow.db").exists() and not (box / ".prefect" / "prefect.db").exists()

    printed = (box / "dashboard.out").read_text()
    assert f"Database:   postgresql://bilstm:***@127.0.0.1:{postgres.port}/onebox" in printed
    logs = [log.read_text() for log in (box / ".bilstm" / "logs").iterdir()]
    assert "PREFECT_SERVER_DATABASE_CONNECTION_URL" in served_settings or "connection_url" in served_settings
    for text in [printed, trained.stdout, trained.stderr, served_settings, *logs]:
        assert postgres.password not in text
    assert len(command_lines) >= 4  # the shell, the dashboard, its Prefect and MLflow servers (and more)
    showing = [line.split(b"\0")[:2] for line in command_lines if postgres.password.encode() in line]
    assert showing == [], "these command lines, public in `ps`, hold the password"
