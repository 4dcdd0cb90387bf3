"""The errors a user fixes by changing the input, in one light module: each derives from `BadInputError`,
whose class attribute `exit_code` (2) is what the CLI exits with, without importing torch or pandas first
(`bilstm --help` and the config checks stay fast). Errors that are not the input's fault may carry their own
`exit_code` the same way (`tracking.retries.TrackingUnavailableError`: 3); any other error exits 1."""


class BadInputError(ValueError):
    """The input (data, config, model URI, output path) cannot be used; the message says how to fix it."""

    exit_code = 2


class DataValidationError(BadInputError):
    """The input data cannot be used as it is; the message says where and how to fix it."""


class ForecastInputError(BadInputError):
    """A history handed to `Forecaster.predict`, or the model to forecast with, cannot be used; the message
    says why."""


class OutputError(BadInputError):
    """The output path cannot be written; the message says why."""


class MonitorInputError(BadInputError):
    """The monitor cannot score the model on the data it was given (window, rows, promise); the message
    says why and how to fix it."""
