"""The CLI's checks of a forecast's or monitor's input against the job the registry tagged on the model
(`deployments.preflight`): they refuse before a flow starts what the flows refuse after loading the model."""

from __future__ import annotations

import pandas as pd
import pytest

from bilstm.errors import DataValidationError, MonitorInputError
from bilstm.job import Job
from deployments.preflight import check_model_columns, check_monitored_model

ONE = Job.of("series", "timestamp", ["x", "y"], ["y"], 12, "h")
MANY = Job.of("long", "timestamp", ["y"], ["y"], 12, "h", series_column="sensor")
HISTORY = pd.DataFrame({"timestamp": ["2024-01-01"], "x": [1.0], "sensor": ["a"]})


@pytest.mark.parametrize(
    ("job", "columns", "data", "message"),
    [
        (ONE, ["timestamp", "x"], "h.csv", r"^h\.csv: column 'y' not found; available: timestamp, x; the"
         r" model was trained on columns x, y: pass a history with them$"),
        (ONE, ["x", "y"], "h.csv", r"^h\.csv: time column 'timestamp' not found; available: x, y; the"
         r" model reads its time column 'timestamp': pass a history with it$"),
        (MANY, ["timestamp", "y"], "h.csv", r"^h\.csv: series column 'sensor' not found"),
        (MANY, ["timestamp", "sensor", "y"], None, r"^this model forecasts many series: pass their history as"
         r" a long table with --data \(columns sensor, timestamp, y\)$"),
    ],
)  # fmt: skip
def test_a_history_without_the_models_columns_is_refused_naming_the_column(job, columns, data, message):
    table = HISTORY.reindex(columns=columns)
    with pytest.raises(DataValidationError, match=message):
        check_model_columns(table, data, job, "a history")


def test_a_history_with_the_models_columns_passes():
    complete = HISTORY.assign(y=2.0)
    passed = [check_model_columns(complete, "h.csv", job, "a history") for job in (ONE, MANY)]
    assert passed == [None, None]  # no refusal raised for either model


def test_the_monitor_refuses_a_model_not_registered_naming_the_model_option():
    with pytest.raises(MonitorInputError, match=r"^--model runs:/r/model: not a registered model"):
        check_monitored_model("runs:/r/model", False)
    assert check_monitored_model("models:/m@champion", True) is None  # registered, one series or many
