"""The MLflow adapter: the tracking store, runs, the registry and the pyfunc model, with MLflow's refusals
translated into `BadInputError`s and its transient failures retried. Never imports Prefect: the tasks and
flows call it, and the CLI and the benchmarks may too."""

import warnings

# MLflow advice that does not apply here: our pyfunc takes a DataFrame checked by its signature, the
# `step` output column is never missing, and a local path is a local file.
for _advice in (
    "Add type hints to the `predict` method",
    "Hint: Inferred schema contains integer column",
    "The specified dataset source can be interpreted in multiple ways",
):
    warnings.filterwarnings("ignore", message=f".*{_advice}", category=UserWarning)
