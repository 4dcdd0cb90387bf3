"""The training flow: ingest -> split and scale -> window -> train -> evaluate -> register -> promote.

One MLflow run per flow run, named after it. The config is a typed pydantic model, so the Prefect UI shows a
form with every field and its default.
"""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from bilstm.config import PipelineConfig
from tasks.data import ingest, make_windows, split_and_scale
from tasks.evaluation import evaluate
from tasks.registry import promote, register_model
from tasks.report import publish_report
from tasks.tracking import run_url, start_tracking, tracked_run, use_tracking
from tasks.training import clear_checkpoint, train

# imported lazily by the tasks below, and imported while Prefect's temporary server starts, if it is slower
PRELOAD = ("torch._dynamo", "mlflow.store.tracking.sqlalchemy_store")


@flow(name="train", log_prints=True)
def train_flow(config: PipelineConfig = PipelineConfig()) -> dict:  # noqa: B008 - pydantic default
    """Train a Bi-LSTM forecaster, track it in MLflow and register it; the champion moves only if it wins."""
    use_tracking(config.registry.experiment)
    with tracked_run(flow_run.name) as run:
        start_tracking(config)
        series = ingest(config.data)
        prepared = split_and_scale(series, config)
        windows = make_windows(prepared, config)
        forecaster, history = train(prepared, windows, config)
        evaluation = evaluate(forecaster, prepared, history)
        version = register_model(forecaster, prepared, config.registry.model_name)
        promotion = promote(version, forecaster, evaluation, prepared, config.registry.model_name)
        summary = {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "run_url": run_url(run),
            "flow_run_id": str(flow_run.id),
            "model_name": config.registry.model_name,
            "model_version": version,
            "promoted": promotion.promoted,
            "champion_version": promotion.champion_version,
            "epochs_run": history.epochs_run,
            "train_seconds": round(history.train_seconds, 3),
            "train_samples_per_s": round(history.samples_per_s, 1),
            "metrics": evaluation.metrics,
        }
        publish_report(summary, promotion)
        clear_checkpoint(config, series.digest())
    return summary
