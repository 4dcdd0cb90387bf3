"""Hyperparameter sweeps: the search space's checks, folds that end before the test split, a study that
refuses another space, trials with real Optuna; and `bilstm sweep` end to end on the real engines (Prefect,
a local Dask cluster of two workers, MLflow): nested trial runs, plots, the best config retrained and
registered, a study resumed by name."""

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow import MlflowClient
from sqlalchemy.exc import SQLAlchemyError

from bilstm import sweep
from bilstm.config import PipelineConfig
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.folds import BacktestError, plan_folds
from bilstm.split import split_table
from bilstm.sweep import SweepOptions, fold_options, make_study, run_one_trial
from bilstm.sweep_space import DEFAULT_SPACE, SearchSpace, SweepError
from tests.helpers import long_table, synthetic_frame, tiny, tiny_args, write_table
from tests.servers import start_dask_cluster

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


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # ask and tell here, no trial to keep alive
def test_trials_started_at_once_again_or_by_a_resume_each_draw_values_of_their_own(tmp_path):
    """Each trial's sampler is seeded by its slot and the study's size: two slots starting together, a
    slot run again, and a resumed sweep's first slot draw other values than the trials before them."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    space = SearchSpace(SMALL_SPACE)

    def draw(slot: int) -> float:
        study = make_study("s", storage, space, seed=0, slot=slot)
        trial = study.ask()
        lr = space.suggest(trial)["train.lr"]
        study.tell(trial, lr)
        return lr

    first_sweep = [draw(0), draw(1)]
    slot_run_again, resumed = draw(1), draw(0)
    assert len({*first_sweep, slot_run_again, resumed}) == 4
    again = tmp_path / "again"
    again.mkdir()
    storage = f"sqlite:///{again / 'optuna.db'}"
    assert [draw(0), draw(1)] == first_sweep  # the same seed, slots and study size draw the same values


def test_a_trial_that_would_start_after_the_time_budget_runs_nothing(tiny_config, tmp_path):
    series = load_table(tiny_config.data)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    late = run_one_trial(
        "s", storage, series, tiny_config, SearchSpace(SMALL_SPACE), SweepOptions(), deadline=time.time()
    )
    assert late is None and optuna.get_all_study_names(storage) == []


def test_sweep_folds_cut_the_validation_split_so_the_newest_trains_on_the_whole_train_split(synthetic_csv):
    config = tiny(**{"data.path": synthetic_csv, "data.time_column": "timestamp", "data.targets": ["y"]})
    series = load_table(config.data)
    config = resolve(config, series).config
    train_end, val_end, _ = split_table(series, config)[1].borders()
    _, folds = plan_folds(series, config, fold_options(SweepOptions(folds=2)), before_test=True)
    block = (val_end - train_end) // 2
    # held-out blocks tile the validation split up to the test split; each fold validates on the one before
    assert [f.split.borders()[1:] for f in folds] == [
        (val_end - 2 * block, val_end - block),
        (val_end - block, val_end),
    ]
    assert [f.split.borders()[1] - f.split.borders()[0] for f in folds] == [block, block]
    assert folds[-1].split.borders()[0] == train_end
    too_many = val_end - train_end  # one-row blocks, shorter than the horizon
    with pytest.raises(BacktestError, match=r"into blocks of 1, shorter than the horizon .*: use --folds"):
        plan_folds(series, config, fold_options(SweepOptions(folds=too_many)), before_test=True)


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # asked here, no trial to keep alive
def test_a_new_study_tries_the_starting_configs_own_values_first_and_a_resumed_one_does_not(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    space = SearchSpace(SMALL_SPACE)
    config = tiny(**{"train.lr": 0.005, "model.hidden_size": 32})  # 32 is not one of the space's choices
    study = make_study("s", storage, space, seed=0)

    assert sweep.start_from(study, space, config) == {"train.lr": 0.005}
    assert sweep.start_from(study, space, config) == {}  # queued once: the study holds that trial now
    first = study.ask()
    values = space.suggest(first)
    assert values["train.lr"] == 0.005 and values["model.hidden_size"] in (8, 16)
    assert first.user_attrs[sweep.ORIGIN_ATTR] == "the starting config"


def test_a_study_resumed_with_another_space_is_refused(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    make_study("s", storage, SearchSpace(SMALL_SPACE), seed=0)
    make_study("s", storage, SearchSpace(SMALL_SPACE), seed=0)  # the same space resumes
    with pytest.raises(SweepError, match=r"study 's' in .* was run with another search space"):
        make_study("s", storage, SearchSpace({"train.lr": {"low": 0.001, "high": 0.1}}), seed=0)


@pytest.fixture(params=["one series", "many series"])
def sweep_input(request, tiny_config, tmp_path) -> tuple:
    """The tiny job's config and its data read: the synthetic series, or a long table of three short ones."""
    many = {}
    if request.param == "many series":
        frame = long_table({"a": 150, "b": 130, "c": 200})
        many = {"data.path": write_table(tmp_path, frame), "data.series_column": "id"}
    config = tiny(tiny_config, **{"train.epochs": 2, **many})
    return config, load_table(config.data)


def test_trials_score_the_mean_fold_mse_and_record_each_folds_curves(sweep_input, tmp_path):
    config, series = sweep_input
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    space = SearchSpace(SMALL_SPACE)

    numbers = [run_one_trial("s", storage, series, config, space, SweepOptions(folds=2), k) for k in (0, 1)]

    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert numbers == [0, 1] and [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    for trial in trials:
        assert trial.value == pytest.approx(sum(trial.user_attrs["fold_mse"]) / 2)
        assert set(trial.user_attrs["curves"]) == {"0", "1"}
        assert len(trial.user_attrs["curves"]["0"]["val_loss"]) == 2
        assert trial.intermediate_values  # the per-epoch validation loss the pruner reads


def test_sweep_folds_of_many_series_step_back_from_each_series_test_split_by_its_validation_size(tmp_path):
    config = tiny(
        **{
            "data.path": write_table(tmp_path, long_table({"a": 150, "b": 130, "c": 200})),
            "data.time_column": "timestamp",
            "data.targets": ["y"],
            "data.series_column": "id",
        }
    )
    series = load_table(config.data)
    config = resolve(config, series).config
    _, single = split_table(series, config)

    _, folds = plan_folds(series, config, fold_options(SweepOptions(folds=2)), before_test=True)

    older, newer = (fold.split for fold in folds)
    assert (newer.val_end == single.train_end).all() and (newer.test_end == single.val_end).all()
    assert (older.test_end == newer.val_end).all() and (older.val_end - older.train_end == 12).all()


# a trial with this space raises in training on every machine (CPU: no CUDA; GPU: no device 99)
FAILING_SPACE = {"train.device": {"choices": ["cuda:99"]}}


def test_a_trial_that_raises_in_training_is_failed_with_its_error_and_the_sweep_goes_on(
    tiny_config, tmp_path
):
    series = load_table(tiny_config.data)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"

    space = SearchSpace(FAILING_SPACE)
    numbers = [run_one_trial("s", storage, series, tiny_config, space, SweepOptions(), k) for k in (0, 1)]

    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert numbers == [0, 1] and [t.state.name for t in trials] == ["FAIL", "FAIL"]
    assert all("cuda:99" in t.user_attrs["error"] for t in trials)


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
    assert (summary["study"], summary["trials"], summary["failed"], summary["model_version"]) == (
        "bilstm-forecaster-sweep",
        3,
        0,
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


def test_a_sweep_in_which_no_trial_completes_fails_in_one_line_and_registers_nothing(bilstm, tmp_path):
    (tmp_path / "failing.yaml").write_text(yaml.safe_dump(FAILING_SPACE))
    synthetic_frame().to_csv(tmp_path / "series.csv", index=False)

    done = bilstm("sweep", "--data", "series.csv", *tiny_args(1), "--space", "failing.yaml", "--trials", "2")

    assert done.returncode == 1, done.stderr[-3000:]
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(
        "error: no trial of study 'bilstm-forecaster-sweep' completed (2 failed, 0 pruned): nothing to"
        " retrain or register; the first error: "
    ), line
    assert "cuda:99" in line and "Traceback" not in done.stderr  # a failed trial is one line, not a trace
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("bilstm-forecaster").experiment_id])
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    trials = [run for run in runs if run is not parent]
    assert parent.info.status == "FAILED" and parent.data.tags["bilstm.kind"] == "sweep"
    assert sorted((t.info.run_name, t.info.status) for t in trials) == [
        ("trial-0", "FAILED"),
        ("trial-1", "FAILED"),
    ]
    assert all("cuda:99" in t.data.tags["bilstm.trial_error"] for t in trials)
    assert client.search_registered_models() == []


def _kill_the_worker_of_a_running_trial(storage: str, study: str, timeout: float = 120) -> int:
    """SIGKILL the process that runs a trial of `study` (its `worker` attribute: host:pid), once one has
    trained an epoch; its trial number."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            trials = optuna.load_study(study_name=study, storage=storage).trials
        except (KeyError, SQLAlchemyError):  # the study (or its tables, created by the flow) not there yet
            trials = []
        # one that has reported an epoch: its heartbeat, written as it starts, is in the storage (a trial
        # killed before its first heartbeat has none to go stale, and stays RUNNING)
        running = [t for t in trials if t.state.name == "RUNNING" and t.intermediate_values]
        if running:
            os.kill(int(running[0].user_attrs["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
            return running[0].number
        time.sleep(0.05)
    raise TimeoutError(f"no trial ran within {timeout:.0f} s")


def _a_trial_shows_in_mlflow_before_the_trials_end(tracking: str, storage: str, study: str, flow) -> bool:
    """Whether a nested trial run was in MLflow at a moment when the study had not all of its 3 trials
    counted yet (MLflow read first, the study after), before `flow` ended."""
    client = MlflowClient(tracking)
    while not flow.done():
        experiment = client.get_experiment_by_name("bilstm-forecaster")
        shown = experiment and client.search_runs(
            [experiment.experiment_id], "tags.`bilstm.kind` = 'sweep-trial'"
        )
        trials = optuna.load_study(study_name=study, storage=storage).trials
        if shown and sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials) < 3:
            return True
        time.sleep(0.2)
    return False


def test_trials_show_in_mlflow_as_they_end_and_a_worker_killed_mid_trial_leaves_a_study_a_resume_completes(
    tiny_config, tracking, tmp_path
):
    from flows.sweep import sweep_flow

    # trials of several seconds each, longer than the flow's 2 s between records even on an idle machine
    config = tiny(tiny_config, **{"train.epochs": 60, "train.patience": 100})
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    space = {"train.lr": {"low": 0.001, "high": 0.01, "log": True}}
    cluster = start_dask_cluster(tmp_path, workers=2)
    try:
        options = SweepOptions(trials=3, folds=1, dask_address=cluster.address, study="k", storage=storage)
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(sweep_flow, config, options, space, return_state=True)
            killed = _kill_the_worker_of_a_running_trial(storage, "k")
            killed_at = time.monotonic()
            live = _a_trial_shows_in_mlflow_before_the_trials_end(tracking, storage, "k", running)
            state = running.result(timeout=600)
    finally:
        cluster.stop()

    assert live, "no trial run showed in MLflow while the trials ran"
    client = MlflowClient(tracking)
    study = optuna.load_study(study_name="k", storage=storage)
    counted = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    if state.is_failed():  # a partial sweep registers nothing
        assert client.search_registered_models() == []
    else:  # Dask gave the lost trial's task to the other worker
        assert len(counted) >= 3
    # a resume, once the killed trial's heartbeat is older than the grace period (no state tells it sooner)
    time.sleep(max(0.0, killed_at + sweep.GRACE_SECONDS + sweep.HEARTBEAT_SECONDS - time.monotonic()))
    total = len(counted) + 1
    resumed = sweep_flow(config, options.model_copy(update={"trials": total, "dask_address": None}), space)

    trials = optuna.load_study(study_name="k", storage=storage).trials
    assert len([t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]) == total
    assert trials[killed].state.name == "FAIL" and "RUNNING" not in {t.state.name for t in trials}
    assert resumed["trials"] >= 1  # the rest of the count, run by the resume
    experiment = client.get_experiment_by_name("bilstm-forecaster").experiment_id
    nested = client.search_runs([experiment], "tags.`bilstm.kind` = 'sweep-trial'")
    numbers = [run.data.tags["optuna.trial_number"] for run in nested]
    assert sorted(numbers) == sorted({*numbers}) == sorted(str(t.number) for t in trials)  # each once
    [lost] = [run for run in nested if run.data.tags["optuna.trial_number"] == str(killed)]
    assert lost.info.status == "FAILED" and "died" in lost.data.tags["bilstm.trial_error"]


def test_storage_comes_from_the_option_else_the_environment_and_shows_without_its_password(monkeypatch):
    url = "postgresql+psycopg://sweeper:s3cret@db.example:5432/optuna"
    monkeypatch.setenv(sweep.STORAGE_ENV, url)
    assert sweep.storage_url(SweepOptions(), "sqlite:///optuna.db") == url
    assert (
        sweep.storage_url(SweepOptions(storage="sqlite:///x.db"), "sqlite:///optuna.db") == "sqlite:///x.db"
    )
    monkeypatch.delenv(sweep.STORAGE_ENV)
    assert sweep.storage_url(SweepOptions(), "sqlite:///optuna.db") == "sqlite:///optuna.db"
    assert sweep.shown(url) == "postgresql+psycopg://sweeper:***@db.example:5432/optuna"
    assert sweep.shown("sqlite:////tmp/optuna.db") == "sqlite:////tmp/optuna.db"


def test_a_sweep_keeps_its_study_in_postgresql_and_its_password_out_of_every_record(
    bilstm, postgres, tmp_path
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    url = postgres.create_database("sweep_study").replace("postgresql://", "postgresql+psycopg://")
    synthetic_frame().to_csv(tmp_path / "series.csv", index=False)
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SMALL_SPACE))

    done = bilstm(
        "sweep", "--data", "series.csv", *tiny_args(1), "--space", "space.yaml", "--trials", "2",
        "--storage", url, "--json",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    study = optuna.load_study(study_name=summary["study"], storage=url)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    secret = postgres.password
    assert secret not in done.stdout + done.stderr
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("bilstm-forecaster").experiment_id])
    assert len(runs) == 4  # the sweep, its two trials, the retrain
    for run in runs:
        assert secret not in json.dumps([run.data.params, run.data.tags])
    parent = client.get_run(summary["run_id"])
    assert parent.data.params["sweep.storage"] == url.replace(secret, "***")
    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(parent.data.tags["prefect.flow_run_id"])
        logs = prefect.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
    assert secret not in json.dumps(flow_run.parameters, default=str)
    assert any(url.replace(secret, "***") in log.message for log in logs)  # the study's line, masked
    assert all(secret not in log.message for log in logs)
