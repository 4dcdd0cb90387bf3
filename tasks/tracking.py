"""MLflow set-up for a flow run: the tracking URI (a server is checked, with retries), params and tags, and
the per-epoch logger."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import mlflow
from mlflow import MlflowClient
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from sqlalchemy.engine import make_url

from bilstm.config import PipelineConfig, flatten
from bilstm.defaults import AUTO_KEYS
from bilstm.file_lock import FileLock
from tasks.refusals import refusals_as_bad_input

DEFAULT_DB = "mlflow.db"


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` if set, else a SQLite file in the working directory (what `mlflow ui` reads)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / DEFAULT_DB}"


class TrackingUnavailableError(RuntimeError):
    """The MLflow tracking server did not answer. Not the input's fault, so no `BadInputError`; the CLI
    exits with its class's `exit_code` all the same."""

    exit_code = 3


def retry_delays() -> list[float]:
    """Seconds between the tries to reach a tracking server: `BILSTM_TRACKING_RETRY_DELAYS` (`2,5,10`)."""
    raw = os.environ.get("BILSTM_TRACKING_RETRY_DELAYS", "2,5,10")
    return [float(part) for part in raw.split(",") if part.strip()]


@task(cache_policy=NO_CACHE)
def reach_tracking_server(uri: str) -> None:
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
        get_run_logger().warning("MLflow tracking server %s unreachable (%s)", shown, reason)
        raise TrackingUnavailableError(f"MLflow tracking server {shown} is unreachable ({reason})") from None


def credentials_to_env(uri: str) -> str:
    """Move `user:password@` out of the URI into MLflow's `MLFLOW_TRACKING_USERNAME` / `_PASSWORD`.

    MLflow puts its tracking URI into error messages, printed links and the environment of child
    processes; without credentials in it, none of those can leak the password.
    """
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    os.environ["MLFLOW_TRACKING_USERNAME"] = unquote(parts.username or "")
    os.environ["MLFLOW_TRACKING_PASSWORD"] = unquote(parts.password or "")
    return without_credentials(uri)


def use_tracking(experiment: str) -> str:
    """Point MLflow at the tracking store and experiment; returns the URI.

    A tracking server is tried first, with retries and growing delays (`retry_delays`), so a server that
    is restarting does not fail the run, and one that stays down fails it with its URI (redacted).
    """
    uri = credentials_to_env(tracking_uri())
    # MLflow would print run links with the URI's credentials; our summaries print redacted ones
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    if urlsplit(uri).scheme in ("http", "https"):
        delays = retry_delays()
        try:
            reach_tracking_server.with_options(retries=len(delays), retry_delay_seconds=delays)(uri)
        except TrackingUnavailableError as error:
            advice = "start it, or point MLFLOW_TRACKING_URI at a running one"
            raise TrackingUnavailableError(f"{error} after {len(delays) + 1} tries; {advice}") from None
    # a URI of no store MLflow knows, a deleted experiment or an overlong name: the user's to fix
    with refusals_as_bad_input():
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        with store_creation_lock(uri):  # the first use of a store creates its tables
            mlflow.set_experiment(experiment)
    return uri


def store_creation_lock(uri: str) -> AbstractContextManager:
    """For a SQLite store, a lock file beside the database, so that commands started together do not create
    and migrate it at the same time (they would fail with `table ... already exists`); a server needs none."""
    if not uri.startswith("sqlite:"):
        return nullcontext()
    database = make_url(uri).database
    if not database or database == ":memory:" or not Path(database).parent.is_dir():
        return nullcontext()  # in memory, or a folder that is not there: MLflow says what is wrong
    return FileLock(f"{database}.lock")


@contextmanager
def tracked_run(run_name: str | None) -> Iterator[mlflow.ActiveRun]:
    """`mlflow.start_run` whose run, if the block fails, is marked FAILED even when the tracking server is
    away for a while (tried again after each of `retry_delays`): a failed run must not show RUNNING."""
    run = mlflow.start_run(run_name=run_name)
    try:
        yield run
    except BaseException:
        _end_failed(run.info.run_id)
        raise
    mlflow.end_run()


def _end_failed(run_id: str) -> None:
    logger, delays = get_run_logger(), retry_delays()
    for attempt in range(len(delays) + 1):
        try:
            active = mlflow.active_run()
            if active is not None and active.info.run_id == run_id:
                mlflow.end_run("FAILED")  # leaves the active-run stack even if the server call fails
            else:
                MlflowClient().set_terminated(run_id, "FAILED")
            return
        except Exception as error:  # noqa: BLE001 - the flow's own error is the one to report
            if attempt == len(delays):
                logger.error("MLflow run %s could not be marked FAILED (%s)", run_id, type(error).__name__)
                return
            logger.warning(
                "MLflow run %s not marked FAILED yet (%s); trying again in %g s",
                run_id,
                type(error).__name__,
                delays[attempt],
            )
            time.sleep(delays[attempt])


def without_credentials(url: str) -> str:
    """`http://user:secret@host:5000/x` -> `http://host:5000/x`: links and logs never carry a password."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


def run_url(run: mlflow.ActiveRun | mlflow.entities.Run) -> str:
    """The run's page in the MLflow UI: the tracking server's own, or `mlflow ui`'s default address."""
    uri = mlflow.get_tracking_uri()
    if not uri.startswith("http"):
        uri = os.environ.get("BILSTM_MLFLOW_UI", "http://127.0.0.1:5000")
    base = without_credentials(uri).rstrip("/")
    return f"{base}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"


@task(cache_policy=NO_CACHE)
def start_tracking(config: PipelineConfig) -> None:
    """Log the flattened config as params and link the MLflow run to this Prefect flow run. Settings left
    to the data (None) are logged once they are known (`tasks.data.fit_settings_to_data`)."""
    mlflow.log_params({k: v for k, v in flatten(config).items() if not (k in AUTO_KEYS and v is None)})
    tags = {"prefect.flow_run_id": str(flow_run.id), "prefect.flow_run_name": flow_run.name or ""}
    if flow_run.ui_url:
        tags["prefect.flow_run_url"] = flow_run.ui_url
    mlflow.set_tags(tags)


def log_epoch(epoch: int, losses: dict[str, float]) -> None:
    """`on_epoch_end` callback: train_loss, val_loss and the learning rate with step=epoch."""
    mlflow.log_metrics(losses, step=epoch)
