"""The task that opens a flow run's tracking: the config as MLflow params and whole (`config.json`, what a
retrain reads back), and links to the Prefect run."""

from __future__ import annotations

import mlflow
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from bilstm.config import PipelineConfig, flatten
from bilstm.defaults import AUTO_KEYS
from tracking.configs import record_config


@task(cache_policy=NO_CACHE)
def start_tracking(config: PipelineConfig) -> None:
    """Log the flattened config as params, and whole, and link the MLflow run to this Prefect flow run.
    Settings left to the data (None) are logged once they are known (`tasks.data.fit_settings_to_data`)."""
    mlflow.log_params({k: v for k, v in flatten(config).items() if not (k in AUTO_KEYS and v is None)})
    record_config(config)
    tags = {"prefect.flow_run_id": str(flow_run.id), "prefect.flow_run_name": flow_run.name or ""}
    if flow_run.ui_url:
        tags["prefect.flow_run_url"] = flow_run.ui_url
    mlflow.set_tags(tags)
