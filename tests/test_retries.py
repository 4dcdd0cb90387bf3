"""Which failures the I/O tasks retry: the network, a busy store or server; never what the input repeats."""

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE
from sqlalchemy.exc import OperationalError

from bilstm.errors import DataValidationError
from tracking.retries import is_transient


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
    ],
    ids=["connection refused", "timeout", "MLflow request on a lost connection", "busy server", "locked db"],
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
