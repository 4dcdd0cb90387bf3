"""One error family: every error the user fixes derives from `BadInputError` (exit code 2), the CLI maps
failures to exit codes by type alone, and MLflow's refusals become bad input where MLflow is called."""

import inspect

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE
from pydantic import ValidationError

from bilstm.config import PipelineConfig
from bilstm.cycle import CycleError
from bilstm.errors import BadInputError, DataValidationError, ForecastInputError, OutputError
from bilstm.presets import UnknownPresetError
from deployments import cli
from deployments.config_layers import ConfigError
from tracking.refusals import TrackingInputError, refusals_as_bad_input
from tracking.retries import TrackingUnavailableError
from tracking.store import use_tracking

USER_FIXABLE = [
    DataValidationError,
    ForecastInputError,
    OutputError,
    ConfigError,
    UnknownPresetError,
    CycleError,
    TrackingInputError,
]


@pytest.mark.parametrize("kind", USER_FIXABLE, ids=lambda kind: kind.__name__)
def test_every_user_fixable_error_is_bad_input_with_exit_code_2(kind):
    assert issubclass(kind, BadInputError)
    assert issubclass(kind, ValueError)  # `except ValueError` around the core still catches them
    assert cli.exit_code(kind("what is wrong; how to fix it")) == 2


def invalid_config() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        PipelineConfig.model_validate({"train": {"lr": -1}})
    return caught.value


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ForecastInputError("models:/m@nope: alias nope not found"), 2),
        (invalid_config(), 2),
        (TrackingUnavailableError("MLflow tracking server http://x is unreachable"), 3),
        (MlflowException("Registered Model with name=m not found", error_code=RESOURCE_DOES_NOT_EXIST), 1),
        (MlflowException("something broke"), 1),
        (RuntimeError("registered version 2 forecasts differently from the trained model"), 1),
    ],
    ids=["bad input", "invalid config", "tracking server away", "MLflow not found", "MLflow", "internal"],
)
def test_the_cli_maps_errors_to_exit_codes_by_type(error, code):
    assert cli.exit_code(error) == code


def test_the_cli_reads_no_mlflow_error_codes():
    source = inspect.getsource(cli)
    assert "error_code" not in source
    assert "RESOURCE_DOES_NOT_EXIST" not in source and "INVALID_PARAMETER_VALUE" not in source


def test_an_mlflow_refusal_becomes_bad_input_with_its_message_and_other_errors_pass():
    refusal = MlflowException("Registered Model with name=m not found", error_code=RESOURCE_DOES_NOT_EXIST)
    with (
        pytest.raises(TrackingInputError, match="^Registered Model with name=m not found$"),
        refusals_as_bad_input(),
    ):
        raise refusal
    busy = MlflowException("busy", error_code=TEMPORARILY_UNAVAILABLE)
    with pytest.raises(MlflowException) as caught, refusals_as_bad_input():
        raise busy
    assert caught.value is busy


def test_a_deleted_experiment_is_bad_input_with_mlflows_message(store):
    use_tracking("gone")
    mlflow.delete_experiment(mlflow.get_experiment_by_name("gone").experiment_id)

    with pytest.raises(TrackingInputError, match="^Cannot set a deleted experiment 'gone' as the active"):
        use_tracking("gone")
