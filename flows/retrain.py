"""The retrain flow, which the `bilstm.model.degraded` trigger of the `retrain-on-degradation` deployment
starts: the champion's own config (as its MLflow run recorded it) trained again by the train flow, as a
subflow, on its data as it is now, through the same champion gate."""

from __future__ import annotations

from prefect import flow

from bilstm.config import RegistryConfig
from flows.train import train_flow
from tasks.retrain import read_champion_config, tag_retrain
from tracking.store import use_tracking


@flow(name="retrain", log_prints=True)
def retrain_flow(model_name: str = RegistryConfig().model_name, reason: str = "run by hand") -> dict:
    """Train the job of `model_name`'s champion again with the champion's config; the champion moves only if
    the new version wins. `reason` (the trigger passes the degraded event) is tagged on the training run."""
    use_tracking(None)
    version, config = read_champion_config(model_name)
    summary = train_flow(config)
    tag_retrain(summary["run_id"], version, reason)
    return summary | {"retrained_version": version, "reason": reason}
