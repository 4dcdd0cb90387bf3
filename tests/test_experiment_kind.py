"""The experiments the project uses are marked as model training (MLflow's experiment kind), so MLflow 3
treats them as training runs rather than GenAI traces; a kind someone chose is kept (real SQLite store)."""

from mlflow import MlflowClient

from tracking.store import EXPERIMENT_KIND_TAG, MODEL_TRAINING, use_tracking


def test_an_experiment_the_project_creates_is_marked_as_model_training(store):
    use_tracking("fresh")

    experiment = MlflowClient(store).get_experiment_by_name("fresh")
    assert experiment.tags[EXPERIMENT_KIND_TAG] == MODEL_TRAINING == "custom_model_development"


def test_an_existing_experiment_without_a_kind_is_marked_when_the_project_uses_it(store):
    client = MlflowClient(store)
    client.create_experiment("made-before")  # by MLflow itself, as an earlier version of the project did
    assert EXPERIMENT_KIND_TAG not in client.get_experiment_by_name("made-before").tags

    use_tracking("made-before")

    assert client.get_experiment_by_name("made-before").tags[EXPERIMENT_KIND_TAG] == MODEL_TRAINING


def test_a_kind_someone_chose_is_kept(store):
    client = MlflowClient(store)
    client.create_experiment("chosen", tags={EXPERIMENT_KIND_TAG: "genai_development"})

    use_tracking("chosen")

    assert client.get_experiment_by_name("chosen").tags[EXPERIMENT_KIND_TAG] == "genai_development"
