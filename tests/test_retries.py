"""Which failures are tried again: the network, a busy store or server; never what the input repeats; and
`retried`, the one loop that tries MLflow calls again outside a Prefect task; and a retried registration,
which finishes the version its first try left half done."""

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST, INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE
from sqlalchemy.exc import OperationalError

from bilstm.errors import DataValidationError
from tracking.retries import is_transient, retried


def raised_while_handling(outer: Exception, inner: Exception) -> Exception:
    """`outer` as MLflow raises it: inside an `except` for `inner`."""
    try:
        try:
            raise inner
        except type(inner):
            raise outer  # noqa: B904 - the implicit context is what MLflow leaves
    except type(outer) as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
        raised_while_handling(MlflowException("API request to /api failed"), ConnectionError("reset")),
        MlflowException("busy", error_code=TEMPORARILY_UNAVAILABLE),
        OperationalError("INSERT ...", {}, Exception("database is locked")),
        MlflowException(
            "BAD_REQUEST: (sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id,"
            " datasets.name, datasets.digest [SQL: INSERT INTO datasets ...]",
            error_code=BAD_REQUEST,
        ),
    ],
    ids=[
        "connection refused",
        "timeout",
        "MLflow request on a lost connection",
        "busy server",
        "locked db",
        "a dataset another run inserted at the same moment",
    ],
)
def test_network_and_busy_store_errors_are_retried(error):
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        DataValidationError("data.csv: column 'y' not found"),
        raised_while_handling(DataValidationError("data.csv: cannot be read"), OSError("bad bytes")),
        MlflowException("input example does not match the signature", error_code=INVALID_PARAMETER_VALUE),
        MlflowException("datetime column only contains timezone-naive datetime objects"),
        RuntimeError("registered version 2 forecasts differently from the trained model"),
        FileNotFoundError(2, "No such file or directory"),
    ],
    ids=["bad data", "unreadable file", "signature mismatch", "schema error", "smoke test", "missing file"],
)
def test_errors_the_input_repeats_are_not_retried(error):
    assert not is_transient(error)


def test_retried_tries_again_after_each_delay_then_raises_the_last_error(caplog):
    tries = []

    def failing():
        tries.append(len(tries))
        raise ConnectionRefusedError(111, f"refused {len(tries)}")

    with pytest.raises(ConnectionRefusedError, match="refused 3"):
        retried(failing, "store not reached yet", delays=[0, 0])
    assert len(tries) == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "tracking.retries"]
    assert warnings == ["store not reached yet (ConnectionRefusedError); trying again in 0 s"] * 2


def test_retried_gives_up_at_once_on_an_error_the_input_will_repeat():
    tries = []

    def refused():
        tries.append(1)
        raise DataValidationError("data.csv: column y is missing")

    with pytest.raises(DataValidationError):
        retried(refused, "data not read yet", delays=[0, 0])
    assert tries == [1]


def test_retried_returns_what_the_first_successful_try_returns():
    answers = iter([TimeoutError("slow"), "ok"])

    def flaky():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retried(flaky, "server not reached yet", delays=[0, 0]) == "ok"


def test_a_retried_registration_finishes_the_version_a_lost_server_left_without_job_tags_or_alias(
    tiny_config, tracking
):
    import mlflow
    from mlflow import MlflowClient

    from bilstm import pipeline
    from bilstm.data import load_table
    from bilstm.defaults import resolve
    from bilstm.job import Job
    from tracking.models import history_example, log_model
    from tracking.registry import register

    series = load_table(tiny_config.data)
    config = resolve(tiny_config, series).config
    prepared = pipeline.split_and_scale(series, config)
    forecaster = pipeline.new_forecaster(prepared, config)  # untrained: registering does not look
    job, name = Job.for_run(series, config), config.registry.model_name
    mlflow.set_experiment("retried-registration")
    with mlflow.start_run():
        # the first try: the version is created, then the server is lost before its tags and alias
        half_done = log_model(forecaster, history_example(prepared, forecaster), name)
        version = register(forecaster, prepared, job, name)  # the task's retry

    client = MlflowClient()
    assert version == half_done and len(client.search_model_versions(f"name='{name}'")) == 1
    registered = client.get_model_version(name, version)
    assert Job.from_tags(registered.tags) == job
    assert registered.aliases == ["challenger"]
