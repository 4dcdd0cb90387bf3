"""The old import path of `bilstm.forecaster`, kept because registered models need it to load: a model logged
before the module was renamed carries its pyfunc code, which imports `Forecaster` from here."""

from bilstm.forecaster import Forecaster
from bilstm.window_spec import WindowSpec

__all__ = ["Forecaster", "WindowSpec"]
