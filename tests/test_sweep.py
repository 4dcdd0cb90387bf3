"""Hyperparameter sweeps: the search space's checks, folds that end before the test split, a study that
refuses another space, trials with real Optuna; and `bilstm sweep` end to end on the real engines (Prefect,
a local Dask cluster of two workers, MLflow): nested trial runs, plots, the best config retrained and
registered, a study resumed by name."""

import json
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow import MlflowClient

from bilstm.config import PipelineConfig
from bilstm.data import load_series
from bilstm.defaults import resolve
from bilstm.folds import plan_folds
from bilstm.preflight import checked_split
from bilstm.sweep import SweepOptions, fold_options, make_study, run_trials, stream_counts
from bilstm.sweep_space import DEFAULT_SPACE, SearchSpace, SweepError
from tests.helpers import synthetic_frame, tiny, tiny_args

SMALL_SPACE = {
    "train.lr": {"low": 0.001, "high": 0.01, "log": True},
    "model.hidden_size": {"choices": [8, 16]},
}


def test_the_default_space_is_valid_and_its_values_stay_in_their_ranges():
    space = SearchSpace.default()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        values = space.suggest(study.ask())
        assert set(values) == set(DEFAULT_SPACE)
        assert 1e-4 <= values["train.lr"] <= 1e-2 and 1 <= values["model.num_layers"] <= 3
        assert values["window.lookback"] in (96, 168, 336)
        assert isinstance(values["model.num_layers"], int)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"model.hiden_size": {"choices": [8]}},
            r"'model\.hiden_size' is not a config field; did you mean model\.hidden_size\?"
            r" the fields of model: cell,",
        ),
        ({"train.lr": {"low": 0.01, "high": 0.001}}, r"train\.lr: the range is empty"),
        ({"train.lr": {"low": 0.0, "high": 0.1, "log": True}}, r"train\.lr: a log range needs low > 0"),
        ({"model.cell": {"choices": []}}, r"model\.cell: choices must be a non-empty list"),
        ({"model.dropout": {"low": 0.0, "high": 2.0}}, r"model\.dropout = 2\.0 is not a valid value"),
        ({"model.cell": {"choices": ["lstm", "rnn"]}}, r"model\.cell = 'rnn' is not a valid value"),
        ({"train.lr": 0.01}, r"train\.lr: expected \{low: A, high: B\} or \{choices"),
        ({}, r"no field to search"),
    ],
)
def test_a_bad_search_space_is_refused_naming_the_field(fields, message):
    with pytest.raises(SweepError, match=message):
        SearchSpace(fields, "space.yaml")


def test_stream_counts_share_the_trials_out_evenly_and_exactly():
    assert stream_counts(20, 2) == [10, 10]
    assert stream_counts(7, 3) == [3, 2, 2]
    assert stream_counts(2, 4) == [1, 1]


def test_sweep_folds_end_where_the_test_split_starts(synthetic_csv):
    config = tiny(**{"data.path": synthetic_csv, "data.time_column": "timestamp", "data.targets": ["y"]})
    series = load_series(config.data)
    config = resolve(config, series).config
    folds = plan_folds(series, config, fold_options(SweepOptions(folds=2)), before_test=True)
    test_start = checked_split(series, config).val_end
    assert folds[-1].split.test_end == test_start
    assert all(fold.split.test_end <= test_start for fold in folds)


def test_a_study_resumed_with_another_space_is_refused(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    make_study("s", storage, SearchSpace(SMALL_SPACE), seed=0)
    make_study("s", storage, SearchSpace(SMALL_SPACE), seed=0)  # the same space resumes
    with pytest.raises(SweepError, match=r"study 's' in .* was run with another search space"):
        make_study("s", storage, SearchSpace({"train.lr": {"low": 0.001, "high": 0.1}}), seed=0)


def test_trials_score_the_mean_fold_mse_and_record_each_folds_curves(tiny_config, tmp_path):
    config = tiny(tiny_config, **{"train.epochs": 2})
    series = load_series(config.data)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    space = SearchSpace(SMALL_SPACE)

    numbers = run_trials("s", storage, series, config, space, SweepOptions(folds=2), count=2)

    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert numbers == [0, 1] and [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    for trial in trials:
        assert trial.value == pytest.approx(sum(trial.user_attrs["fold_mse"]) / 2)
        assert set(trial.user_attrs["curves"]) == {"0", "1"}
        assert len(trial.user_attrs["curves"]["0"]["val_loss"]) == 2
        assert trial.intermediate_values  # the per-epoch validation loss the pruner reads


def test_sweep_runs_trials_on_two_dask_workers_records_them_and_registers_the_best(bilstm, tmp_path):
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SMALL_SPACE))
    (tmp_path / "other.yaml").write_text(yaml.safe_dump({"train.lr": {"low": 0.001, "high": 0.1}}))
    synthetic_frame().to_csv(tmp_path / "series.csv", index=False)

    def sweep(*options: str):
        return bilstm("sweep", "--data", "series.csv", *tiny_args(2), "--json", *options)

    done = sweep("--space", "space.yaml", "--trials", "3", "--workers", "2")

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {"run_id", "study", "trials", "pruned", "best_value", "best_config", "test_mse_scaled"}
    assert expected | {"model_version", "promoted"} <= set(summary)
    assert (summary["study"], summary["trials"], summary["model_version"]) == (
        "bilstm-forecaster-sweep",
        3,
        "1",
    )
    assert set(summary["best_config"]) == set(SMALL_SPACE)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent = client.get_run(summary["run_id"])
    trials = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{summary['run_id']}'"
    )
    assert len(trials) == 3 and {t.data.tags["bilstm.kind"] for t in trials} == {"sweep-trial"}
    assert len({t.data.tags["bilstm.worker"] for t in trials}) == 2  # two worker processes ran them
    assert all("fold_0_val_loss" in t.data.metrics and "train.lr" in t.data.params for t in trials)
    best = min(trials, key=lambda t: t.data.metrics.get("val_mse_scaled", float("inf")))
    assert best.data.metrics["val_mse_scaled"] == pytest.approx(summary["best_value"])
    artifacts = {a.path for a in client.list_artifacts(summary["run_id"], "sweep")}
    assert artifacts == {"sweep/optimization_history.png", "sweep/param_importances.png"}
    best_config = yaml.safe_load(
        Path(client.download_artifacts(summary["run_id"], "best_config.yaml")).read_text()
    )
    assert PipelineConfig.model_validate(best_config).train.lr == summary["best_config"]["train.lr"]
    champion = client.get_model_version_by_alias("bilstm-forecaster", "champion")
    assert str(champion.version) == summary["model_version"] == "1" and summary["promoted"]
    assert client.get_run(champion.run_id).data.tags["bilstm.sweep_run_id"] == summary["run_id"]

    resumed = sweep("--space", "space.yaml", "--trials", "4")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["trials"] == 1  # the fourth only

    refused = sweep("--space", "other.yaml")
    assert refused.returncode == 2
    assert "study 'bilstm-forecaster-sweep' in" in refused.stderr and "another search space" in refused.stderr
    assert len(client.search_model_versions("name = 'bilstm-forecaster'")) == 2  # nothing more registered
