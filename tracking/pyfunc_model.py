"""The MLflow pyfunc face of a forecaster bundle, logged as a model from code (no pickled objects).

Input: a history DataFrame (time column + the trained input columns, at least `lookback` rows); for a model
with columns known in advance (`data.future`), followed by the `horizon` future rows of each series with
those columns filled and the targets empty (`Forecaster.predict_table`).
Output: the next `horizon` timestamps, `step`, and one forecast column per target, in original units, each
followed by its band columns (`<t>_lo_80`, `<t>_hi_80`, `<t>_lo_95`, `<t>_hi_95`) where the bundle has
intervals. A history the forecaster refuses raises `HistoryRefused`: `mlflow models serve` answers it with
HTTP 400 and the forecaster's one line as the message."""

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from bilstm.forecaster import Forecaster, ForecastInputError


class HistoryRefused(MlflowException):
    """A history the forecaster cannot forecast from, with the forecaster's one-line reason as the message.
    The message cannot be rewritten: MLflow's scoring server prefixes the whole input frame to the message
    of any `MlflowException` from `predict` (`Failed to predict data '<frame>'`), kilobytes a client needs
    no echo of; a plain exception would answer with the server's stack trace instead."""

    def __init__(self, reason: str):
        self._reason = reason
        super().__init__(reason, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._reason

    @message.setter
    def message(self, _: str) -> None:
        pass  # the reason alone stays the message (see the class docstring)


class ForecasterModel(PythonModel):
    def load_context(self, context) -> None:
        self.forecaster = Forecaster.load(context.artifacts["bundle"])

    # a DataFrame hint: MLflow checks the input against the signature of the logged input example
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        try:
            return self.forecaster.predict_table(model_input)
        except ForecastInputError as error:
            raise HistoryRefused(str(error)) from None


mlflow.models.set_model(ForecasterModel())
