"""A full disk: recognised in whatever words it comes (the OS's, torch's, SQLite's, a server's error 500), and
`bilstm train` whose checkpoints land on a full disk ends in one line naming it, its run FAILED, no partial
file left."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from mlflow import MlflowClient

from tests.helpers import BILSTM, tiny_args
from tracking import disk_space
from tracking.disk_space import Place, full_disk, is_full_disk, places


def _raised(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


@pytest.fixture
def where(tmp_path) -> list[Place]:
    return [Place("BILSTM_HOME", tmp_path / "home"), Place("MLFLOW_TRACKING_URI", tmp_path)]


def test_an_enospc_naming_a_file_names_the_place_holding_it_and_its_setting(where, tmp_path):
    error = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "home" / "checkpoints" / "a.pt"))

    found = full_disk(_raised(RuntimeError("writing failed"), error), where)

    assert (
        str(found) == f"no space left on {tmp_path / 'home'}: free space there or point BILSTM_HOME elsewhere"
    )
    assert found.exit_code == 3


def test_torch_and_sqlite_words_point_at_the_checkpoints_and_the_store_when_they_share_a_disk(
    where, tmp_path
):
    torch_error = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
    sqlite_error = _raised(
        RuntimeError("MlflowException"), sqlite3.OperationalError("database or disk is full")
    )

    assert f"on {tmp_path / 'home'}: " in str(full_disk(torch_error, where))
    assert str(full_disk(sqlite_error, where)).endswith("point MLFLOW_TRACKING_URI elsewhere")


def test_a_server_error_500_is_a_full_disk_only_where_a_place_is_low_on_space(where, monkeypatch):
    answer_500 = RuntimeError(
        "Server error '500 Internal Server Error' for url 'http://127.0.0.1:1/api/logs/'"
    )
    answer_500.response = SimpleNamespace(status_code=500)

    monkeypatch.setattr(disk_space, "LOW_SPACE", 0)
    assert full_disk(answer_500, where) is None
    monkeypatch.setattr(disk_space, "LOW_SPACE", 2**62)
    assert full_disk(answer_500, where) is not None
    assert not is_full_disk(answer_500)  # no retry is refused on a guess
    server_gone = RuntimeError("the temporary Prefect server exited with code 3 on start-up")
    with_prefect = [*where, Place("PREFECT_HOME", where[1].folder / "prefect")]  # all on one disk
    assert str(full_disk(server_gone, with_prefect, server_failed=True)).endswith(
        "point PREFECT_HOME elsewhere"
    )


def test_other_errors_are_no_full_disk(where):
    assert full_disk(OSError(errno.EACCES, "Permission denied", "/x"), where) is None
    assert full_disk(ValueError("unexpected value"), where) is None


def test_places_name_the_sqlite_stores_folder_and_the_homes(tmp_path, monkeypatch):
    monkeypatch.setenv("BILSTM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))

    found = {p.setting: p.folder for p in places(f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")}

    assert found["BILSTM_HOME"] == tmp_path / "home"
    assert found["MLFLOW_TRACKING_URI"] == tmp_path / "store"
    assert found["PREFECT_HOME"] == tmp_path / "prefect"
    assert "MLFLOW_TRACKING_URI" not in {p.setting for p in places("http://127.0.0.1:5000")}


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs, smaller than one checkpoint of the tiny job at hidden size 64; skipped where this
    process may not mount one (not root, no tmpfs, a container without the capability)."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_train_whose_checkpoints_fill_the_disk_fails_in_one_line_naming_it(
    synthetic_csv, tracking, tmp_path, small_disk
):
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), BILSTM_HOME=str(small_disk))
    args = tiny_args(2, "--set", "model.hidden_size=64")
    run = subprocess.run(
        [BILSTM, "train", "--data", synthetic_csv, *args], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip

    assert run.returncode == 3, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: no space left on {small_disk}: free space there or point BILSTM_HOME elsewhere"
    ]
    assert "Traceback" not in run.stderr
    assert not list(Path(small_disk).rglob("*.partial"))
    client = MlflowClient(tracking)
    experiment = client.get_experiment_by_name("bilstm-forecaster")
    assert [r.info.status for r in client.search_runs([experiment.experiment_id])] == ["FAILED"]
