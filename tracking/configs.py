"""The config a training run trained with, kept whole in its MLflow run (`config.json`), and read back for
the champion of a model name: a retrain trains the champion's own job again, on its data as it is now."""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient

from bilstm.config import PipelineConfig
from bilstm.errors import BadInputError
from tracking.recorded_config import for_the_record, from_params
from tracking.registry import champion_version

CONFIG_ARTIFACT = "config.json"


class NothingToRetrainError(BadInputError):
    """A retrain was asked for a model name without a champion; the message says how to make one."""


def record_config(config: PipelineConfig) -> None:
    """Keep the active run's config whole, with its data path absolute (its params are flattened text)."""
    mlflow.log_dict(for_the_record(config).model_dump(mode="json"), CONFIG_ARTIFACT)


def champion_config(model_name: str) -> tuple[str, PipelineConfig]:
    """(the champion's version, the config its run trained with); for a run from before configs were kept
    whole, the config rebuilt from its params.

    Raises:
        NothingToRetrainError: the model name has no champion.
    """
    version = champion_version(model_name)
    if version is None:
        raise NothingToRetrainError(
            f"registered model {model_name!r} has no champion to retrain; train one first"
            f" (bilstm train --set registry.model_name={model_name})"
        )
    client = MlflowClient()
    run_id = client.get_model_version(model_name, version).run_id
    if CONFIG_ARTIFACT not in {artifact.path for artifact in client.list_artifacts(run_id)}:
        return version, from_params(client.get_run(run_id).data.params)
    recorded = mlflow.artifacts.load_dict(f"runs:/{run_id}/{CONFIG_ARTIFACT}")
    return version, PipelineConfig.model_validate(recorded)
