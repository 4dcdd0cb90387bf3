"""fit(): learns a learnable series, stops early on the validation loss, resumes from its checkpoint."""

import numpy as np
import pytest
import torch

from bilstm.config import ModelConfig, TrainConfig
from bilstm.model import BiLSTMNet
from bilstm.training import TrainingDivergedError, evaluate_loss, fit, loss_function
from bilstm.windows import make_windows

L, T = 24, 6


def sine_windows():
    t = np.arange(900)
    values = np.sin(2 * np.pi * t / 24)[:, None].astype(np.float32)
    return make_windows(values[:700], L, T, 1), make_windows(values[700 - L :], L, T, 1)


def new_model(seed=0):
    torch.manual_seed(seed)
    return BiLSTMNet(ModelConfig(patch_len=24, hidden_size=16, num_layers=1, highway=False), 1, 1, T, L)


def test_training_lowers_the_loss_on_a_learnable_series():
    train, val = sine_windows()
    training_log = fit(new_model(), train, val, TrainConfig(epochs=5, batch_size=32, lr=5e-3, patience=5))
    assert training_log.epochs_run == 5
    assert training_log.train_loss[-1] < 0.5 * training_log.train_loss[0]
    assert min(training_log.val_loss) < training_log.val_loss[0]


def test_callback_gets_every_epoch_losses():
    train, val = sine_windows()
    seen = []
    fit(
        new_model(),
        train,
        val,
        TrainConfig(epochs=3, batch_size=64),
        on_epoch_end=lambda e, m: seen.append((e, m)),
    )
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    assert all(set(m) == {"train_loss", "val_loss", "lr"} for _, m in seen)


def test_early_stopping_restores_the_best_weights():
    train, val = sine_windows()
    config = TrainConfig(epochs=30, batch_size=64, lr=0.05, patience=1)
    model = new_model()
    training_log = fit(model, train, val, config)
    best = min(training_log.val_loss)
    assert training_log.val_loss[training_log.best_epoch - 1] == best
    restored = evaluate_loss(model, val, torch.nn.MSELoss(), 256)
    assert abs(restored - best) < 1e-6
    # at this rate the validation loss stops improving soon: training ends `patience` epochs after its best
    assert (
        training_log.stopped_early
        and training_log.epochs_run == training_log.best_epoch + config.patience < config.epochs
    )


class Killed(Exception):
    """Stands in for a process killed after an epoch's checkpoint was written."""


def kill_after(epochs: int):
    def on_epoch_end(epoch, metrics):
        if epoch == epochs:
            raise Killed

    return on_epoch_end


@pytest.mark.parametrize("schedule", ["constant", "onecycle", "cosine"])
def test_resume_continues_from_the_saved_epoch(tmp_path, schedule):
    train, val = sine_windows()
    checkpoint = tmp_path / "ckpt.pt"
    config = TrainConfig(epochs=4, batch_size=64, patience=10, schedule=schedule)
    full = fit(new_model(), train, val, config)

    with pytest.raises(Killed):
        fit(new_model(), train, val, config, checkpoint=checkpoint, on_epoch_end=kill_after(2))
    assert checkpoint.exists()
    epochs_seen = []
    resumed = fit(
        new_model(seed=99),
        train,
        val,
        config,
        checkpoint=checkpoint,
        on_epoch_end=lambda e, m: epochs_seen.append(e),
    )
    assert resumed.resumed_from_epoch == 2
    assert epochs_seen == [3, 4]
    np.testing.assert_allclose(resumed.train_loss, full.train_loss, rtol=1e-5)
    np.testing.assert_allclose(resumed.val_loss, full.val_loss, rtol=1e-5)


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_schedule_anneals_the_learning_rate_below_its_peak(schedule):
    train, val = sine_windows()
    config = TrainConfig(epochs=3, batch_size=64, lr=1e-2, schedule=schedule, patience=10)
    training_log = fit(new_model(), train, val, config)
    assert len(training_log.learning_rate) == 3
    assert max(training_log.learning_rate) <= config.lr
    assert training_log.learning_rate[-1] < 0.01 * config.lr


def test_constant_schedule_keeps_the_learning_rate():
    train, val = sine_windows()
    config = TrainConfig(epochs=2, batch_size=64, lr=3e-3, schedule="constant")
    training_log = fit(new_model(), train, val, config)
    assert training_log.learning_rate == [3e-3, 3e-3]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_on_cuda_with_bf16_autocast_lowers_the_loss():
    train, val = sine_windows()
    config = TrainConfig(epochs=5, batch_size=32, lr=5e-3, patience=5, device="cuda", amp=True)
    model = new_model()
    training_log = fit(model, train, val, config)
    assert next(model.parameters()).is_cuda
    assert training_log.train_loss[-1] < 0.5 * training_log.train_loss[0]


def test_starting_weights_are_kept_when_no_epoch_beats_them_on_validation():
    train, val = sine_windows()
    model = new_model()
    fit(model, train, val, TrainConfig(epochs=6, batch_size=32, lr=5e-3, patience=6))
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    # a learning rate this large can only make the trained weights worse on validation
    training_log = fit(model, train, val, TrainConfig(epochs=2, batch_size=32, lr=10.0, patience=6))
    assert training_log.best_epoch == 0
    assert min(training_log.val_loss) > training_log.start_val_loss
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, trained[name])


def test_mae_loss_scores_the_starting_weights_by_their_mean_absolute_error():
    train, val = sine_windows()
    model = new_model()
    mean_absolute_error = evaluate_loss(model, val, torch.nn.L1Loss(), batch_size=64)
    training_log = fit(model, train, val, TrainConfig(epochs=1, batch_size=64, loss="mae"))
    assert training_log.start_val_loss == pytest.approx(mean_absolute_error)


def test_log_mae_is_a_relative_error_symmetric_in_over_and_under_forecasts():
    loss = loss_function("log_mae")
    targets = torch.tensor([1.0, 100.0])
    # twice and half each target: the same error, whatever the target's level
    assert loss(torch.tensor([2.0, 200.0]), targets).item() == pytest.approx(np.log(2))
    assert loss(torch.tensor([0.5, 50.0]), targets).item() == pytest.approx(np.log(2))


def test_a_positive_series_trains_on_log_ratios_with_the_log_mae_loss():
    t = np.arange(900)
    values = (2.0 + np.sin(2 * np.pi * t / 24))[:, None].astype(np.float32)
    train, val = make_windows(values[:700], L, T, 1), make_windows(values[700 - L :], L, T, 1)
    torch.manual_seed(0)
    config = ModelConfig(patch_len=24, hidden_size=16, num_layers=1, highway=False, instance_norm="log_ratio")
    model = BiLSTMNet(config, 1, 1, T, L)
    training_log = fit(model, train, val, TrainConfig(epochs=3, batch_size=64, loss="log_mae", lr=5e-3))
    assert training_log.val_loss[-1] < training_log.start_val_loss / 2


def test_a_training_whose_every_epoch_loss_is_nan_fails_naming_the_learning_rate():
    train, val = sine_windows()
    # pydantic refuses lr=inf from a user; built unchecked it stands for any setting that diverges
    config = TrainConfig.model_construct(**{**TrainConfig().model_dump(), "epochs": 2, "lr": float("inf")})
    with pytest.raises(TrainingDivergedError, match=r"NaN or infinite in all 2 epochs \(train\.lr=inf"):
        fit(new_model(), train, val, config)
