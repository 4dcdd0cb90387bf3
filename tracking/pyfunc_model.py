"""The MLflow pyfunc face of a forecaster bundle, logged as a model from code (no pickled objects).

Input: a history DataFrame (time column + the trained input columns, at least `lookback` rows).
Output: the next `horizon` timestamps, `step`, and one forecast column per target, in original units, each
followed by its band columns (`<t>_lo_80`, `<t>_hi_80`, `<t>_lo_95`, `<t>_hi_95`) where the bundle has
intervals."""

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from bilstm.forecaster import Forecaster


class ForecasterModel(PythonModel):
    def load_context(self, context) -> None:
        self.forecaster = Forecaster.load(context.artifacts["bundle"])

    # a DataFrame hint: MLflow checks the input against the signature of the logged input example
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.forecaster.predict(model_input)


mlflow.models.set_model(ForecasterModel())
