"""Where MLflow keeps its runs: the tracking URI (a SQLite file by default), credentials kept out of it, a
tracking server or database reached with retries before a run starts, and the experiment set up (marked as
a model-training experiment, so that MLflow's UI opens it on its runs table rather than its GenAI view)."""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from urllib.parse import unquote, urlsplit

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Experiment
from mlflow.exceptions import MlflowException
from sqlalchemy.engine import make_url

from tracking.databases import check_sqlite_file, is_database, reach_database
from tracking.file_lock import FileLock
from tracking.refusals import refusals_as_bad_input
from tracking.retries import TrackingUnavailableError, reached, retry_delays
from tracking.urls import without_credentials

DEFAULT_DB = "mlflow.db"
STATE_FOLDER = ".bilstm"  # this project's own files beside a SQLite store (as `bilstm train`'s checkpoints)
# MLflow's experiment kind, which its UI reads to pick the view an experiment opens in (MLflow 3 has no Python
# constant for it); "custom_model_development" is what the UI's kind selector writes for "Machine learning"
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"
log = logging.getLogger(__name__)


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` if set, else a SQLite file in the working directory (what `mlflow ui` reads)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def credentials_to_env(uri: str) -> str:
    """Move `user:password@` out of the URI into MLflow's `MLFLOW_TRACKING_USERNAME` / `_PASSWORD`.

    MLflow puts its tracking URI into error messages, printed links and the environment of child
    processes; without credentials in it, none of those can leak the password. Only for a tracking server:
    a database URL keeps its own (the driver logs in with them).
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or (parts.username is None and parts.password is None):
        return uri
    os.environ["MLFLOW_TRACKING_USERNAME"] = unquote(parts.username or "")
    os.environ["MLFLOW_TRACKING_PASSWORD"] = unquote(parts.password or "")
    return without_credentials(uri)


def _reach_server(uri: str) -> None:
    """Ask the server's /health endpoint; any HTTP answer but a gateway error means it is up."""
    shown = without_credentials(uri)
    health = shown.rstrip("/") + "/health"
    try:
        urllib.request.urlopen(health, timeout=5).close()
    except urllib.error.HTTPError as error:
        if error.code in (502, 503, 504):
            raise TrackingUnavailableError(f"MLflow tracking server {shown} answered {error.code}") from None
    except OSError as error:
        reason = getattr(error, "reason", error)
        log.warning("MLflow tracking server %s unreachable (%s)", shown, reason)
        raise TrackingUnavailableError(f"MLflow tracking server {shown} is unreachable ({reason})") from None


def use_tracking(experiment: str | None) -> str:
    """Point MLflow at the tracking store and experiment (None: the store alone); returns the URI.

    A tracking server or database is tried first, with retries and growing delays (`retry_delays`), so one
    that is restarting does not fail the run, and one that stays down fails it with its URI (redacted).
    """
    uri = credentials_to_env(tracking_uri())
    # MLflow would print run links with the URI's credentials; our summaries print redacted ones
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    if urlsplit(uri).scheme in ("http", "https"):
        server = f"MLflow tracking server {without_credentials(uri)}"
        reached(lambda: _reach_server(uri), server, retry_delays())
    elif is_database(uri):  # MLflow alone would retry a refused one for minutes, a silent one for ever
        reach_database(uri, retry_delays())
    elif uri.startswith("sqlite:"):
        check_sqlite_file(uri)
    # a URI of no store MLflow knows, a deleted experiment or an overlong name: the user's to fix
    with refusals_as_bad_input():
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        if experiment is not None:
            with store_creation_lock(uri):  # the first use of a store creates its tables
                mark_as_model_training(mlflow.set_experiment(experiment))
    return uri


def mark_as_model_training(experiment: Experiment) -> None:
    """Tag the experiment as model training if it has no kind yet, whether this project or MLflow created it.

    A kind already there is left alone: someone chose it (in the UI's selector, or a tag of their own).
    Two commands that start together on a new experiment both tag it; a store on SQLite refuses the second
    (a unique key), which is fine once the tag is there.
    """
    if EXPERIMENT_KIND_TAG in experiment.tags:
        return
    client = MlflowClient()
    try:
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING)
    except MlflowException:
        if EXPERIMENT_KIND_TAG not in client.get_experiment(experiment.experiment_id).tags:
            raise


def store_creation_lock(uri: str) -> AbstractContextManager:
    """For a SQLite store, a lock file, so that commands started together do not create and migrate it at
    the same time (they would fail with `table ... already exists`); a server needs none.

    The lock file stays (removing it would let two processes lock two inodes), so it lies in the `.bilstm/`
    state folder beside the database, out of the user's own files: `.bilstm/mlflow.db.lock`. Every process
    that opens the same database path finds it there.
    """
    if not uri.startswith("sqlite:"):
        return nullcontext()
    database = make_url(uri).database
    if not database or database == ":memory:" or not Path(database).parent.is_dir():
        return nullcontext()  # in memory, or a folder that is not there: MLflow says what is wrong
    state = Path(database).parent / STATE_FOLDER
    state.mkdir(exist_ok=True)
    return FileLock(state / f"{Path(database).name}.lock")
