"""The errors a user fixes by changing the input, in one light module: each derives from `BadInputError`,
whose class attribute `exit_code` (2) is what the CLI exits with, without importing torch or pandas first
(`bilstm --help` and the config checks stay fast). Errors that are not the input's fault may carry their own
`exit_code` the same way (`tracking.retries.TrackingUnavailableError`: 3); any other error exits 1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bilstm.url_masking import masked_urls

if TYPE_CHECKING:
    from pydantic import ValidationError


class BadInputError(ValueError):
    """The input (data, config, model URI, output path) cannot be used; the message says how to fix it, with
    the secrets of any URL in it masked (`bilstm.url_masking`)."""

    exit_code = 2

    def __init__(self, *args: object) -> None:
        super().__init__(*(masked_urls(arg) if isinstance(arg, str) else arg for arg in args))


class DataValidationError(BadInputError):
    """The input data cannot be used as it is; the message says where and how to fix it."""


class ForecastInputError(BadInputError):
    """A history handed to `Forecaster.predict`, or the model to forecast with, cannot be used; the message
    says why."""


class FutureDataError(ForecastInputError):
    """Future values of the covariates known in advance that a forecast cannot read (`--future-data`)."""


class OutputError(BadInputError):
    """The output path cannot be written; the message says why."""


class MonitorInputError(BadInputError):
    """The monitor cannot score the model on the data it was given (window, rows, promise); the message
    says why and how to fix it."""


def option_problems(error: ValidationError) -> str:
    """A pydantic error on a command's options as one line naming each option as typed:
    `--folds 0: Input should be greater than or equal to 1; --refit 'x': must be ...`."""
    return "; ".join(
        f"--{str(e['loc'][0]).replace('_', '-')} {e['input']!r}: " + e["msg"].removeprefix("Value error, ")
        for e in error.errors()
    )


def error_chain(error: BaseException | None) -> Iterator[BaseException]:
    """`error` and the errors it was raised from or while handling (libraries wrap the cause: MLflow a
    network error, Prefect a full disk)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__
