"""The `bilstm` command line: `bilstm train` runs the training flow (embedded Prefect + MLflow).

The flows, Prefect and MLflow are imported inside the commands, once their input is checked, so `bilstm
--help` and a refusal of bad input take about a second. Bad input exits 2 with one line saying what is
wrong and how to fix it.
"""

from __future__ import annotations

import getpass
import json
import os
import textwrap
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from bilstm.config import CsvConfig
from bilstm.errors import BadInputError
from bilstm.url_masking import masked_urls
from deployments.cli_options import DebugOption, DecimalOption, JobOptions, SepOption, with_job_options
from deployments.config_layers import ConfigError
from deployments.malloc_tuning import reexec_with_tuned_malloc
from deployments.process import apply_env_defaults, quiet_prefect_tracebacks, run_and_exit

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])

BAD_INPUT = BadInputError.exit_code
LINE_LIMIT = 300  # characters of the error line; --debug shows it whole


@app.callback()
def _root() -> None:
    """Train Bi-LSTM forecasters with Prefect and MLflow."""


def _one_line(error: BaseException, limit: int | None = LINE_LIMIT) -> str:
    """The error as one line, cut to `limit` characters (None: whole) as a last resort."""
    line = _whole_line(error)
    if limit is None or len(line) <= limit:
        return line
    more = "… (--debug shows the whole message)"
    return line[: limit - len(more)].rstrip() + more


def _whole_line(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        parts = []
        for e in error.errors():
            field, message = ".".join(map(str, e["loc"])), e["msg"].removeprefix("Value error, ")
            # a check across sections has no field and its input is the whole config: its message says it all
            parts.append(f"{field}: {message} (got {e.get('input')!r})" if field else message)
        return "invalid config: " + "; ".join(parts)
    return " ".join(str(error).split())


def _fail(error: BaseException, debug: bool, code: int) -> None:
    if debug:
        traceback.print_exception(error)
    prefix = "error: "
    line = masked_urls(_one_line(error, None if debug else LINE_LIMIT - len(prefix)))  # a library's text too
    typer.secho(prefix + line, err=True, fg="red")
    raise typer.Exit(code)


def _echo(text: str, err: bool = False, **style: Any) -> None:
    """Print `text` with no line over `LINE_LIMIT` characters: a longer one (a long promotion reason or
    warning) goes on over indented lines, broken between words."""
    lines = []
    for line in text.splitlines():
        if len(line) <= LINE_LIMIT:
            lines.append(line)
        else:
            lines += textwrap.wrap(
                line, LINE_LIMIT, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
            )
    typer.secho("\n".join(lines), err=err, **style)


def _csv_settings(sep: str | None, decimal: str | None) -> CsvConfig:
    """`--sep` and `--decimal` of the commands without a config (forecast, monitor), checked as `data.csv`."""
    try:
        return CsvConfig(sep=sep, decimal=decimal)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        option = f"--{first['loc'][0]} {first['input']!r}" if first["loc"] else "--sep and --decimal"
        raise ConfigError(f"{option}: {message}") from None


@app.command()
@with_job_options
def train(
    job: JobOptions,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary as JSON (last line)")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Train, evaluate and register a forecaster with the training flow.

    Settings apply in this order, later ones winning: defaults, --preset, --config, the options, --set.
    With --series-column, the file is a long table of many series and one model is trained across them.
    """
    reexec_with_tuned_malloc()
    from deployments.preflight import check_training_input

    try:
        pipeline_config = job.build()
        # the data against the config, before Prefect, torch and MLflow start: a bad input fails fast
        series, resolved = check_training_input(pipeline_config)
        if pipeline_config.registry.gate == "backtest":
            from bilstm import folds as folds_module

            gate_folds = folds_module.BacktestOptions(folds=pipeline_config.registry.gate_folds)
            folds_module.check_backtest_input(series, resolved, gate_folds, "registry.gate_folds")
        if pipeline_config.registry.approval == "manual":
            _check_approval_reachable()
    except (BadInputError, ValidationError) as error:
        _fail(error, debug, exit_code(error))
    api = _start_flow_api()
    from flows.train import PRELOAD, train_flow  # torch, Prefect and MLflow load now, as the server starts

    summary = _run_flow(api, train_flow, PRELOAD, {"config": pipeline_config}, debug)
    _print_summary(summary, as_json)


@app.command()
@with_job_options
def backtest(
    job: JobOptions,
    folds: Annotated[int, typer.Option(help="Rolling origins, newest last")] = 4,
    step: Annotated[
        int | None, typer.Option(help="Rows between origins [default: the test split's size]")
    ] = None,
    refit: Annotated[
        str, typer.Option(help="every: a model per fold; once: the first fold's, rolled forward; K: every K")
    ] = "every",
    workers: Annotated[
        int, typer.Option(help="Dask worker processes for the folds; 1 runs them here, one after another")
    ] = 1,
    dask_address: Annotated[
        str | None,
        typer.Option(help="An existing Dask scheduler (tcp://host:8786) instead of a local cluster"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the backtest summary as JSON (last line)")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Backtest a config over rolling origins: a model trained and scored per fold, tracked in MLflow, with
    nothing registered.

    Settings apply as for `bilstm train`; the folds run in parallel on a Dask cluster with --workers N.
    """
    reexec_with_tuned_malloc()
    from bilstm import folds as folds_module
    from deployments.preflight import check_training_input
    from tasks.dask_scheduler import check_scheduler

    try:
        pipeline_config = job.build()
        backtest_options = folds_module.BacktestOptions.checked(
            folds=folds, step=step, refit=refit, workers=workers, dask_address=dask_address
        )
        series, resolved = check_training_input(pipeline_config)
        folds_module.check_backtest_input(series, resolved, backtest_options)
        if dask_address:
            check_scheduler(dask_address)
    except (BadInputError, ValidationError) as error:
        _fail(error, debug, exit_code(error))
    parameters = {"config": pipeline_config, "backtest": backtest_options}
    api = _start_flow_api()
    from flows.backtest import PRELOAD, backtest_flow

    summary = _run_flow(api, backtest_flow, PRELOAD, parameters, debug)
    _print_backtest(summary, as_json)


@app.command()
@with_job_options
def sweep(
    job: JobOptions,
    trials: Annotated[int, typer.Option(help="Trials in the study (a resumed study runs the rest)")] = 20,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds after which no new trial starts [default: no limit]")
    ] = None,
    space: Annotated[
        Path | None,
        typer.Option(help="Search space, YAML: config field -> {low, high[, log]} or {choices: [...]}"),
    ] = None,
    folds: Annotated[int, typer.Option(help="Rolling-origin folds per trial, before the test split")] = 2,
    workers: Annotated[
        int,
        typer.Option(help="Trials at once, on a local Dask cluster of this many workers; 1 runs them here"),
    ] = 1,
    dask_address: Annotated[
        str | None,
        typer.Option(
            help="An existing Dask scheduler (tcp://host:8786) instead of a local cluster: all its workers"
            " take trials"
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="Study name; the same name resumes it [default: MODEL-sweep]")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Optuna storage URL, SQLite or PostgreSQL (postgresql+psycopg://user:pw@host/db); with a"
            " password, set BILSTM_SWEEP_STORAGE instead, off the command line [default:"
            " $BILSTM_SWEEP_STORAGE, else optuna.db beside the MLflow store]"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the sweep summary as JSON (last line)")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Search hyperparameters with Optuna, each trial scored on rolling-origin folds before the test
    split; the best config is retrained, scored on the test windows and registered through the gate.

    Settings apply as for `bilstm train` and are the starting point the space's fields override.
    """
    reexec_with_tuned_malloc()
    from bilstm.sweep import STORAGE_ENV, SweepOptions, check_space_fits
    from bilstm.sweep_space import SearchSpace
    from deployments.preflight import check_training_input
    from tasks.dask_scheduler import check_scheduler

    try:
        pipeline_config = job.build()
        sweep_options = SweepOptions.checked(
            trials=trials, timeout=timeout, folds=folds, workers=workers, dask_address=dask_address,
            study=study, storage=storage,
        )  # fmt: skip
        search = SearchSpace.from_file(space) if space else SearchSpace.default()
        series, _ = check_training_input(pipeline_config)
        with warnings.catch_warnings():  # the flow's own check shows them
            warnings.simplefilter("ignore")
            check_space_fits(series, pipeline_config, search, sweep_options)
        if dask_address:
            check_scheduler(dask_address)
    except (BadInputError, ValidationError) as error:
        _fail(error, debug, exit_code(error))
    if sweep_options.storage:  # may hold a password: by environment, not as a flow parameter Prefect records
        os.environ[STORAGE_ENV] = sweep_options.storage
        sweep_options = sweep_options.model_copy(update={"storage": None})
    parameters = {"config": pipeline_config, "sweep_options": sweep_options, "space": search.spec}
    api = _start_flow_api()
    from flows.sweep import PRELOAD, sweep_flow

    summary = _run_flow(api, sweep_flow, PRELOAD, parameters, debug)
    _print_sweep(summary, as_json)


@app.command()
def forecast(
    model: Annotated[str, typer.Option(help="Registered model URI")] = "models:/bilstm-forecaster@champion",
    data: Annotated[
        str | None, typer.Option(help="History: CSV/Parquet path or URI [default: built-in ETTh1]")
    ] = None,
    output: Annotated[str, typer.Option(help="Forecast file, .csv or .parquet")] = "forecast.csv",
    plot: Annotated[
        str | None, typer.Option(help="Also write a plot of the recent history and forecast: .png/.svg/.pdf")
    ] = None,
    skip_short: Annotated[
        bool,
        typer.Option(help="Many series: leave out series shorter than the model's lookback, with a warning"),
    ] = False,
    future_data: Annotated[
        str | None,
        typer.Option(
            help="A model with columns known in advance (--future): their values for the horizon after each"
            " series' last row, with the time column (and the series column)"
        ),
    ] = None,
    sep: SepOption = None,
    decimal: DecimalOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (last line)")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks")] = False,
) -> None:
    """Forecast the steps after the last row of a history with a registered model (after each series' last
    row of a long table, for a model of many series)."""
    from deployments import preflight

    try:
        csv = _csv_settings(sep, decimal)
        history = preflight.check_forecast_input(data, output, plot, csv, future_data)
        _, job = _registered_job(model, debug)
        if job is not None:
            preflight.check_model_columns(history, data, job, "a history")
            preflight.check_model_frequency(history, data, job)
            preflight.check_model_zone(history, data, job)
    except BadInputError as error:
        _fail(error, debug, exit_code(error))
    parameters = {
        "model_uri": model, "data": data, "output": output, "plot": plot, "skip_short": skip_short,
        "csv": csv, "future_data": future_data,
    }  # fmt: skip
    api = _start_flow_api()
    from flows.forecast import forecast_flow

    summary = _run_flow(api, forecast_flow, (), parameters, debug)
    _echo(
        f"{summary['rows']} steps {summary['first_timestamp']} .. {summary['last_timestamp']}"
        f" from {summary['model_uri']} written to {summary['output']}"
    )
    if summary["plot"]:
        typer.echo(f"plot written to {summary['plot']}")
    typer.echo(f"MLflow run {summary['run_url']}")
    _warn_and_dump(summary, as_json)


@app.command()
def monitor(
    data: Annotated[
        str, typer.Option(help="The newest actuals: CSV/Parquet path or URI, the model's columns")
    ],
    model: Annotated[str, typer.Option(help="Registered model URI")] = "models:/bilstm-forecaster@champion",
    window: Annotated[
        int | None,
        typer.Option(min=1, help="Rows to monitor, the newest [default: a week of steps for hourly data]"),
    ] = None,
    sep: SepOption = None,
    decimal: DecimalOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (last line)")] = False,
    debug: DebugOption = False,
) -> None:
    """Score a registered model on the newest actuals against what it promised at registration, check its
    inputs for drift, and emit bilstm.model.degraded or bilstm.model.healthy. Exits 0 either way."""
    from deployments import preflight

    try:
        csv = _csv_settings(sep, decimal)
        actuals = preflight.check_monitor_input(data, window, csv)
        found, job = _registered_job(model, debug)
        preflight.check_monitored_model(model, found is not None)
        if job is not None:
            preflight.check_model_columns(actuals, data, job, "data")
            preflight.check_model_frequency(actuals, data, job)
            preflight.check_model_zone(actuals, data, job)
    except BadInputError as error:
        _fail(error, debug, exit_code(error))
    parameters = {"model_uri": model, "data": data, "window": window, "csv": csv}
    api = _start_flow_api()
    from flows.monitor import monitor_flow

    summary = _run_flow(api, monitor_flow, (), parameters, debug)
    _print_monitor(summary, as_json)


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to bind; anything but loopback warns")] = "127.0.0.1",
    prefect_port: Annotated[int, typer.Option(help="Prefect UI and API port")] = 4200,
    mlflow_port: Annotated[int, typer.Option(help="MLflow UI and tracking port")] = 5000,
    state_dir: Annotated[
        Path, typer.Option(help="Where mlflow.db, mlruns/, .prefect/ and .bilstm/ live")
    ] = Path("."),
    prefect_file: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            show_default="deployments/prefect.yaml",
            help="A prefect.yaml whose deployments to serve",
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            envvar="BILSTM_DATABASE",
            show_default="SQLite files in --state-dir",
            help="postgresql://USER:PASSWORD@HOST:PORT/DATABASE for both servers: Prefect's tables in its"
            " schema `prefect`, MLflow's in `mlflow` (created if missing; both keep an alembic_version"
            " table), artifacts served by MLflow from --state-dir/mlartifacts. Prefer the environment"
            " variable: a command line is visible to every user in `ps`",
        ),
    ] = None,
) -> None:
    """Start the Prefect UI (with the deployments served) and the MLflow UI; Ctrl-C stops both."""
    from deployments import dashboard as supervisor
    from deployments.database import Database, DatabaseUnreachableError, DatabaseUrlError

    try:
        shared = Database.parse(database) if database else None
        code = supervisor.run(host, prefect_port, mlflow_port, state_dir, prefect_file, shared)
    except (DatabaseUrlError, DatabaseUnreachableError, supervisor.DashboardError) as error:
        _fail(error, False, exit_code(error))
    raise typer.Exit(code)


ModelNameOption = Annotated[str, typer.Option("--model", help="Registered model name")]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who makes the move, for the history", show_default="your user name"),
]


@app.command()
def promote(
    version: Annotated[str, typer.Option("--version", help="The version to make champion")],
    model: ModelNameOption = "bilstm-forecaster",
    by: ByOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the move as JSON (last line)")] = False,
    debug: DebugOption = False,
) -> None:
    """Make a registered version the champion; the champion before it becomes previous-champion.

    Under the promotion lock, recorded in the champion's history (tags on the registered model).
    """
    move = _move_champion("promote_version", debug, model_name=model, version=version, by=by)
    if move.at is None:
        typer.echo(f"{model} v{version} is the champion already; nothing changed")
    else:
        was = "no champion before"
        if move.replaced_version:
            was = f"was v{move.replaced_version}, now previous-champion"
        typer.echo(f"{model} v{version} is the champion ({was}), by {move.by} at {move.at}")
    if as_json:
        typer.echo(json.dumps(asdict(move)))


@app.command()
def rollback(
    model: ModelNameOption = "bilstm-forecaster",
    by: ByOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the move as JSON (last line)")] = False,
    debug: DebugOption = False,
) -> None:
    """Make the previous-champion the champion again.

    Under the promotion lock, recorded in the champion's history; the new previous-champion is the version
    the restored one replaced, so a second rollback goes one step further back.
    """
    move = _move_champion("rollback", debug, model_name=model, by=by)
    previous = f"v{move.previous_champion_version}" if move.previous_champion_version else "none"
    typer.echo(
        f"{model} rolled back from v{move.replaced_version} to v{move.champion_version}"
        f" (previous-champion: {previous}), by {move.by} at {move.at}"
    )
    if as_json:
        typer.echo(json.dumps(asdict(move)))


def _move_champion(action: str, debug: bool, by: str | None, **arguments: str) -> Any:
    """Run a move of `tracking.champion_moves` (MLflow loads only now); failures become exit codes."""
    apply_env_defaults()
    from tracking import champion_moves as moves

    try:
        return getattr(moves, action)(by=by or _user(), **arguments)
    except Exception as error:  # noqa: BLE001 - every failure becomes one line and an exit code
        _fail(error, debug, exit_code(error))


def _user() -> str:
    try:
        return getpass.getuser()
    except OSError:  # no user name in the environment or the password database (some containers)
        return "unknown"


def _registered_job(model: str, debug: bool) -> tuple[tuple[str, str, str] | None, Any]:
    """The version `model` names and the job tagged on it (`tracking.versions.registered_job`): MLflow loads
    now, neither torch nor Prefect, so an unknown model or alias, or a name without a champion, is refused
    before a flow or the temporary server starts."""
    apply_env_defaults()
    from tracking.versions import registered_job

    try:
        return registered_job(model)
    except Exception as error:  # noqa: BLE001 - every failure becomes one line and an exit code
        _fail(error, debug, exit_code(error))


def _check_approval_reachable() -> None:
    """Manual approval waits for a person in a Prefect UI: a command's temporary server has none."""
    from deployments.temporary_api import configured_api

    if not configured_api():
        raise BadInputError(
            "registry.approval=manual needs a Prefect server whose UI a person opens to approve: set"
            " PREFECT_API_URL (`bilstm dashboard` serves one at http://127.0.0.1:4200/api) or run the train"
            " deployment from the dashboard"
        )


def exit_code(error: BaseException) -> int:
    """The exit code of a failure, by its type: its class's `exit_code` (2 for every `BadInputError`, 3 for
    an unreachable tracking server or database), 2 for pydantic's invalid config, 1 for anything else."""
    if isinstance(error, ValidationError):  # raised where the config is validated: the pydantic boundary
        return BAD_INPUT
    code = getattr(type(error), "exit_code", None)
    return code if isinstance(code, int) and code > 0 else 1


def _start_flow_api() -> Any:
    """The temporary Prefect server, where no API is configured (else None), starting in the background:
    the commands import their flow (Prefect, torch and MLflow load only then) while it starts."""
    apply_env_defaults()
    from deployments import temporary_api

    return temporary_api.start()


def _run_flow(api: Any, flow: Callable[..., dict], preload: Iterable[str], parameters: dict[str, Any],
              debug: bool) -> dict:  # fmt: skip
    """Run `flow` once `api` (None: a configured one) is ready, importing the `preload` modules while it is
    not yet; map failures to exit codes."""
    if not debug:
        quiet_prefect_tracebacks()
    try:
        if api is None:
            return flow(**parameters)
        api.wait_until_ready(preload=preload)
        with api.flow_settings():
            return flow(**parameters)
    except Exception as error:  # noqa: BLE001 - every failure becomes one line and an exit code
        error = _as_full_disk(error) or error
        _fail(error, debug, exit_code(error))


def _as_full_disk(error: BaseException) -> BaseException | None:
    """`error` as one line naming the full folder and its setting, if a full disk caused it (torch, SQLite,
    Prefect's API and the OS each say so in their own words: `tracking.disk_space`)."""
    from deployments.temporary_api import TemporaryApiError
    from tracking import disk_space
    from tracking.store import tracking_uri

    # the temporary Prefect server's own error is in its process's log alone
    server_failed = isinstance(error, TemporaryApiError)
    full = disk_space.full_disk(error, disk_space.places(tracking_uri()), server_failed)
    if full is not None:
        full.__cause__ = error  # --debug shows the original traceback
    return full


def _many_series_line(summary: dict) -> str:
    """Means over series of a many-series run: sMAPE, MASE and OWA beside the baselines'."""
    if "series" not in summary:
        return ""
    metrics = summary["metrics"]
    scores = " | ".join(
        f"{label} sMAPE {metrics[f'{prefix}test_smape']:.2f} MASE {metrics[f'{prefix}test_mase']:.3f}"
        + (f" OWA {metrics[f'{prefix}test_owa']:.3f}" if f"{prefix}test_owa" in metrics else "")
        for label, prefix in (("model", ""), ("seasonal naive", "seasonal_naive_"), ("Naive2", "naive2_"))
    )
    left_out = f" ({summary['series_left_out']} left out: too short)" if summary["series_left_out"] else ""
    calibration = f"{summary['intervals_calibration']}\n" if summary.get("intervals_calibration") else ""
    return f"{summary['series']} series{left_out}, means over series: {scores}\n{calibration}"


def _print_summary(summary: dict, as_json: bool) -> None:
    metrics = summary["metrics"]
    verdict = "promoted to champion" if summary["promoted"] else "not promoted"
    name, version, champion = summary["model_name"], summary["model_version"], summary["champion_version"]
    kept = "no champion" if champion is None else f"champion: v{champion}"
    _echo(
        f"{name} v{version} {verdict} ({kept}): {summary['promotion_reason']}\n"
        f"test MSE (scaled) {metrics['test_mse_scaled']:.4f}"
        f" | persistence {metrics['naive_test_mse_scaled']:.4f}"
        f" | seasonal naive {metrics['seasonal_naive_test_mse_scaled']:.4f}\n"
        + _many_series_line(summary)
        + f"lookback {summary['lookback']}, segments of {summary['patch_len']} rows"
        f" (seasonal period {summary['seasonal_period']} steps)\n"
        f"{summary['epochs_run']} epochs (best: {summary['best_epoch']}), {summary['train_seconds']:.1f} s"
        f" of training ({summary['train_samples_per_s']:.0f} samples/s)\n"
        + (f"{summary['training_note']}\n" if summary["training_note"] else "")
        + f"MLflow run {summary['run_id']}: {summary['run_url']}"
    )
    _warn_and_dump(summary, as_json)


def _many_series_folds_line(summary: dict) -> list[str]:
    """A backtest of many series: the series folded, and the model's sMAPE, MASE and OWA (means over series,
    then over the folds)."""
    if "series" not in summary:
        return []
    metrics = summary["metrics"]
    scores = " ".join(
        f"{label} {metrics[f'mean_test_{key}']:.3f}"
        for label, key in (("sMAPE", "smape"), ("MASE", "mase"), ("OWA", "owa"))
        if f"mean_test_{key}" in metrics
    )
    left_out = f" ({summary['series_left_out']} left out: too short)" if summary["series_left_out"] else ""
    return [f"{summary['series']} series{left_out}, means over series and folds: {scores}"]


def _warn_and_dump(summary: dict, as_json: bool) -> None:
    """The summary's warnings as `WARNING:` lines on stderr, then, with --json, the summary as the last
    stdout line."""
    for warning in summary["warnings"]:
        _echo(f"WARNING: {warning}", err=True, fg="yellow", bold=True)
    if as_json:
        typer.echo(json.dumps(summary, default=str))


def _print_backtest(summary: dict, as_json: bool) -> None:
    metrics = summary["metrics"]
    lines = [
        f"fold {row['fold']}  {row['test_start']} .. {row['test_end']}  test MSE (scaled)"
        f" {row['test_mse_scaled']:.4f} | persistence {row['naive_test_mse_scaled']:.4f}"
        f" | seasonal naive {row['seasonal_naive_test_mse_scaled']:.4f}"
        + (f" | coverage 95 % {row['coverage_95']:.3f}" if "coverage_95" in row else "")
        for row in summary["folds"]
    ]
    mean, spread = metrics["mean_test_mse_scaled"], metrics["std_test_mse_scaled"]
    lines += [
        f"mean over {len(summary['folds'])} folds: test MSE (scaled) {mean:.4f} ± {spread:.4f}"
        f" | persistence {metrics['mean_naive_test_mse_scaled']:.4f}"
        f" | seasonal naive {metrics['mean_seasonal_naive_test_mse_scaled']:.4f}",
        *_many_series_folds_line(summary),
        f"{summary['wall_seconds']:.1f} s. MLflow run {summary['run_id']}: {summary['run_url']}",
    ]
    _echo("\n".join(lines))
    _warn_and_dump(summary, as_json)


def _print_sweep(summary: dict, as_json: bool) -> None:
    best = ", ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
                     for key, value in summary["best_config"].items())  # fmt: skip
    promoted = "champion" if summary["promoted"] else "not promoted"
    lines = [
        f"study {summary['study']}: {summary['trials']} trials run here ({summary['pruned']} pruned,"
        f" {summary['failed']} failed);"
        f" best mean fold MSE (scaled) {summary['best_value']:.4f}",
        f"best config: {best}",
        f"retrained: test MSE (scaled) {summary['test_mse_scaled']:.4f}, version {summary['model_version']}"
        f" ({promoted})",
        f"{summary['wall_seconds']:.1f} s. MLflow run {summary['run_id']}: {summary['run_url']}",
    ]
    _echo("\n".join(lines))
    _warn_and_dump(summary, as_json)


def _print_monitor(summary: dict, as_json: bool) -> None:
    verdict = "DEGRADED" if summary["degraded"] else "healthy"
    lines = [
        f"{summary['model_name']} v{summary['model_version']} {verdict}: realised MSE (scaled)"
        f" {summary['realised_mse_scaled']:.4f} | promised {summary['expected_mse_scaled']:.4f}"
        f" | threshold {summary['threshold_mse_scaled']:.4f}"
        f" | persistence {summary['persistence_mse_scaled']:.4f}",
        f"{summary['windows']} windows ({summary['source']}), targets {summary['first_target']}"
        f" .. {summary['last_target']}",
    ]
    if "degraded_series" in summary:
        from tasks.monitor_summary import series_line

        lines.append(series_line(summary))
    if summary["coverage_95"] is not None:
        promised = summary["expected_coverage_95"]
        lines.append(
            f"coverage 95 % {summary['coverage_95']:.3f}"
            + ("" if promised is None else f" (promised {promised:.3f})")
        )
    if summary["drift"]:
        limits = summary["drift_thresholds"]
        shown = ", ".join(f"{c} {v:.2f}/{limits[c]:.2f}" for c, v in summary["drift"].items())
        lines.append(f"drift (PSI/threshold): {shown}")
    lines.append(f"event {summary['event']}. MLflow run {summary['run_id']}: {summary['run_url']}")
    _echo("\n".join(lines))
    for reason in summary["reasons"]:
        _echo(f"DEGRADED: {reason}", err=True, fg="yellow", bold=True)
    _warn_and_dump(summary, as_json)


def main() -> None:
    """The console entry point: the app, then an exit without module teardown (`deployments.fast_exit`)."""
    run_and_exit(app)
