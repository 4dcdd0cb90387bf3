"""MLflow's refusals of what the user gave (an unknown model or alias, an invalid model name, a deleted
experiment, an unsupported tracking URI), translated where MLflow is called into a `BadInputError`: the CLI
maps errors to exit codes by type and never reads MLflow's error codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mlflow.exceptions import MlflowException

from bilstm.errors import BadInputError

# MLflow's codes for a name, URI or value that does not exist or that it does not accept
_REFUSED = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class TrackingInputError(BadInputError):
    """MLflow refused a name, URI or value the user gave; the message is MLflow's."""


@contextmanager
def refusals_as_bad_input(
    error_for: Callable[[str], BadInputError] = TrackingInputError,
) -> Iterator[None]:
    """MLflow's refusal inside the block raised as `error_for(its message)`; other errors pass unchanged."""
    try:
        yield
    except MlflowException as error:
        if error.error_code not in _REFUSED:
            raise
        raise error_for(error.message) from error
