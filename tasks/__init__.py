"""Prefect tasks: thin, verb-named wrappers that call `bilstm` and log to MLflow. No math here."""

import warnings

# MLflow advice that does not apply here: our pyfunc takes a DataFrame checked by its signature, the
# `step` output column is never missing, and a local path is a local file.
for _advice in (
    "Add type hints to the `predict` method",
    "Hint: Inferred schema contains integer column",
    "The specified dataset source can be interpreted in multiple ways",
):
    warnings.filterwarnings("ignore", message=f".*{_advice}", category=UserWarning)
