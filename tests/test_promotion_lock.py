"""The promotion lock: one run at a time decides on `champion`; a lock left by a run that ended is broken."""

import pytest
from mlflow import MlflowClient

from tracking.promotion_lock import SUFFIX, promotion_lock

NAME = "bilstm-forecaster"


@pytest.fixture
def client_and_runs(tracking):
    client = MlflowClient(tracking, registry_uri=tracking)
    experiment = client.create_experiment("promotions")
    return client, [client.create_run(experiment).info.run_id for _ in range(2)]


def test_a_second_run_waits_while_the_lock_is_held_and_gets_it_once_released(client_and_runs):
    client, (first, second) = client_and_runs
    with (
        promotion_lock(client, NAME, first),
        pytest.raises(TimeoutError, match=f"{NAME}{SUFFIX} held"),
        promotion_lock(client, NAME, second, timeout=1),
    ):
        pytest.fail("two runs held the promotion lock at once")
    with promotion_lock(client, NAME, second):
        assert client.get_registered_model(NAME + SUFFIX).tags["holder_run_id"] == second
    assert client.search_registered_models() == []  # released: no lock model left in the registry


def test_a_lock_whose_holder_run_ended_is_broken(client_and_runs):
    client, (crashed, second) = client_and_runs
    promotion_lock(client, NAME, crashed).__enter__()  # entered, never exited: the holder died mid-promotion
    client.set_terminated(crashed, "FAILED")
    with promotion_lock(client, NAME, second, timeout=5):
        assert client.get_registered_model(NAME + SUFFIX).tags["holder_run_id"] == second
