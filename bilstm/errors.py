"""The errors a user fixes by changing the input, in one light module: the CLI maps them to exit code 2
without importing torch or pandas first (`bilstm --help` and the config checks stay fast)."""


class DataValidationError(ValueError):
    """The input data cannot be used as it is; the message says where and how to fix it."""


class ForecastInputError(ValueError):
    """A history handed to `Forecaster.predict` cannot be used; the message says why."""


class OutputError(ValueError):
    """The output path cannot be written; the message says why."""
