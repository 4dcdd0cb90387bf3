"""The batch-forecast flow: check the output paths -> load the champion -> read the latest history ->
forecast -> write and log the table and the plot -> record what was forecast, by which model version, for
the monitor (`tracking.forecasts`)."""

from __future__ import annotations

from pathlib import Path

import mlflow
from prefect import flow
from prefect.runtime import flow_run

from bilstm.config import CsvConfig
from tasks.forecasting import (
    check_outputs,
    find_registered_version,
    forecast,
    forecast_many,
    load_forecaster,
    plot_forecast,
    plot_many_forecasts,
    publish_forecast,
    read_future_data,
    read_history,
    read_long_history,
    record_forecast,
)
from tracking.forecasts import FORECAST_EXPERIMENT
from tracking.runs import run_url, tracked_run
from tracking.store import use_tracking


@flow(name="forecast")
def forecast_flow(
    model_uri: str = "models:/bilstm-forecaster@champion",
    data: str | None = None,
    output: str = "forecast.csv",
    plot: str | None = None,
    skip_short: bool = False,
    csv: CsvConfig = CsvConfig(),  # noqa: B008 - pydantic default
    future_data: str | None = None,
) -> dict:
    """Forecast the `horizon` steps after the last row of `data` (empty = the built-in data set); `plot`
    (.png, .svg or .pdf) also gets the plot of the recent history and the forecast with its bands (of the
    best, median and worst series by the version's test sMAPE, for a model of many). A model of many series
    forecasts each series of the long table `data` after its own last row; `skip_short` leaves out (with a
    warning) series shorter than the model's lookback instead of failing. `csv`: the separator and decimal
    mark of a CSV `data` (empty: sniffed). `future_data`: for a model with covariates known in advance
    (`data.future`), their values over the horizon: the time column, the series column (many series) and
    those columns, a row for each of the `horizon` stamps after each series' last row."""
    use_tracking(FORECAST_EXPERIMENT)
    with tracked_run(flow_run.name) as run:
        params = {"model_uri": model_uri, "data": data or "built-in ETTh1", "output": output, "plot": plot}
        if future_data:
            params["future_data"] = future_data
        mlflow.log_params(params)
        mlflow.set_tag("prefect.flow_run_id", str(flow_run.id))
        check_outputs(output, plot)
        found = find_registered_version(model_uri)
        forecaster = load_forecaster(model_uri, found)
        future = read_future_data(future_data, csv)
        if forecaster.spec.series_column is not None:
            long_history = read_long_history(forecaster, data, csv)
            table = forecast_many(forecaster, long_history, data, skip_short, future, future_data)
            path = publish_forecast(table, output)
            plot_path = plot_many_forecasts(forecaster, long_history, table, plot, found)
            record_forecast(forecaster, long_history, table, model_uri, found, Path(data).stem, future)
            notes = []  # a long table is read as it is, without the checks that notice gaps
        else:
            history = read_history(forecaster, data, csv)
            table = forecast(forecaster, history, future, future_data)
            path = publish_forecast(table, output)
            plot_path = plot_forecast(forecaster, history, table, plot)
            record_forecast(forecaster, history.frame, table, model_uri, found, history.name, future)
            notes = history.notes
        times = table[forecaster.spec.time_column]
    return {
        "run_id": run.info.run_id,
        "run_url": run_url(run),
        "flow_run_id": str(flow_run.id),
        "model_uri": model_uri,
        "output": path,
        "plot": plot_path,
        "rows": len(table),
        "first_timestamp": str(times.min()),
        "last_timestamp": str(times.max()),
        "warnings": notes,  # what reading the history noticed (gaps, mixed UTC offsets)
    }
