"""BiLSTMNet: output shapes for every option, determinism, and the fixed flaws of the blog article's
model (docs/concepts/design.md: random initial states, unused dropout, a one-step backward read-out); a
series embedding learned per series of a long table."""

import itertools

import numpy as np
import pytest
import torch

from bilstm.config import ModelConfig, PipelineConfig, with_overrides
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.forecaster import Forecaster
from bilstm.model import BiLSTMNet, _window_statistics
from bilstm.pipeline import fit_forecaster, make_train_windows, new_forecaster, split_and_scale
from tests.helpers import long_frame, write_shaped

B, L, F, T = 4, 24, 3, 6

OPTIONS = list(
    itertools.product(
        ["lstm", "gru"],
        [True, False],
        [1, 2],
        ["last", "mean", "attention"],
        ["none", "last", "revin", "robust"],
    )
)


@pytest.mark.parametrize(("cell", "bidirectional", "num_layers", "pooling", "norm"), OPTIONS)
def test_output_shape_for_every_option(cell, bidirectional, num_layers, pooling, norm):
    config = ModelConfig(
        cell=cell,
        bidirectional=bidirectional,
        num_layers=num_layers,
        pooling=pooling,
        instance_norm=norm,
        hidden_size=8,
        patch_len=1,  # a recurrence over every row, as in the blog article's model
    )
    x = torch.randn(B, L, F)
    assert BiLSTMNet(config, F, 1, T, L)(x).shape == (B, T)
    assert BiLSTMNet(config, F, 3, T, L)(x).shape == (B, T, 3)


@pytest.mark.parametrize("highway", [True, False])
def test_same_seed_gives_same_predictions(highway):
    config = ModelConfig(patch_len=24, hidden_size=8, highway=highway)
    x = torch.randn(B, L, F)
    outputs = []
    for _ in range(2):
        torch.manual_seed(7)
        outputs.append(BiLSTMNet(config, F, 1, T, L).eval()(x))
    torch.testing.assert_close(outputs[0], outputs[1])


def test_eval_mode_has_no_randomness():
    model = BiLSTMNet(ModelConfig(patch_len=24, hidden_size=8, dropout=0.5), F, 1, T, L).eval()
    x = torch.randn(B, L, F)
    torch.testing.assert_close(model(x), model(x))


def test_dropout_is_applied_in_training_mode():
    model = BiLSTMNet(
        ModelConfig(patch_len=24, hidden_size=8, dropout=0.5, highway=False), F, 1, T, L
    ).train()
    x = torch.randn(B, L, F)
    assert not torch.allclose(model(x), model(x))


def test_last_value_normalisation_makes_the_forecast_shift_with_the_level():
    model = BiLSTMNet(ModelConfig(patch_len=24, hidden_size=8, instance_norm="last"), F, 1, T, L).eval()
    x = torch.randn(B, L, F)
    torch.testing.assert_close(model(x + 100.0), model(x) + 100.0)


def test_revin_denormalisation_restores_location_and_scale():
    model = BiLSTMNet(ModelConfig(patch_len=24, hidden_size=8, instance_norm="revin"), F, 1, T, L).eval()
    x = torch.randn(B, L, F)
    torch.testing.assert_close(model(3.0 * x + 50.0), 3.0 * model(x) + 50.0, rtol=1e-4, atol=1e-3)


def test_robust_denormalisation_restores_location_and_scale():
    model = BiLSTMNet(ModelConfig(patch_len=24, hidden_size=8, instance_norm="robust"), F, 1, T, L).eval()
    x = torch.randn(B, L, F)
    torch.testing.assert_close(model(3.0 * x + 50.0), 3.0 * model(x) + 50.0, rtol=1e-4, atol=1e-3)


def test_log_ratio_forecasts_scale_with_a_positive_series_and_stay_positive():
    model = BiLSTMNet(ModelConfig(patch_len=24, hidden_size=8, instance_norm="log_ratio"), F, 1, T, L).eval()
    x = torch.rand(B, L, F) + 0.5
    torch.testing.assert_close(model(7.0 * x), 7.0 * model(x), rtol=1e-4, atol=1e-4)
    assert (model(x) > 0).all()


def test_robust_normalisation_is_not_stretched_by_a_spike_in_the_window():
    """One spike of 100 deviations in the lookback: RevIN's mean and deviation move with it and change the
    forecast; the median and MAD barely move, so the robust model's forecast barely does."""
    torch.manual_seed(0)
    x = torch.randn(B, L, F)
    spiked = x.clone()
    spiked[:, L // 2, :] += 100.0
    shift = {}
    for norm in ("revin", "robust"):
        torch.manual_seed(1)
        model = BiLSTMNet(
            ModelConfig(patch_len=1, hidden_size=8, highway=False, instance_norm=norm), F, 1, T, L
        )
        shift[norm] = (model.eval()(spiked) - model(x)).abs().mean().item()
    assert shift["robust"] < shift["revin"] / 5


def test_robust_spread_of_a_mostly_constant_window_falls_back_to_the_deviation():
    """Intermittent demand: zero in most rows, so the MAD is 0; dividing by it would blow the other rows up
    to ~1e5, so the deviation stands in for it."""
    x = torch.zeros(B, L, F)
    x[:, -3:, :] = 5.0
    centre, spread = _window_statistics(x, robust=True)
    torch.testing.assert_close(centre, torch.zeros(B, 1, F))
    torch.testing.assert_close(spread, x.std(dim=1, unbiased=False, keepdim=True), rtol=1e-3, atol=1e-3)


def test_backward_direction_reads_the_whole_window():
    """The read-out must depend on the first input step through the backward direction too."""
    torch.manual_seed(0)
    config = ModelConfig(
        hidden_size=8, patch_len=1, num_layers=1, highway=False, instance_norm="none", dropout=0.0
    )
    model = BiLSTMNet(config, F, 1, T, L).eval()
    pooled = []

    def keep_head_input(module, inputs, output):
        pooled.append(inputs[0])

    model.head.register_forward_hook(keep_head_input)
    x = torch.randn(1, L, F)
    model(x)
    x[0, 0] += 5.0
    model(x)
    backward_half = slice(8, 16)
    assert not torch.allclose(pooled[0][0, backward_half], pooled[1][0, backward_half])


def test_targets_outside_the_inputs_are_refused():
    with pytest.raises(ValueError, match="n_targets"):
        BiLSTMNet(ModelConfig(patch_len=24), 2, 3, T, L)


@pytest.mark.parametrize("patch_len", [1, 4, 8])
@pytest.mark.parametrize("channel_independent", [False, True])
def test_segments_and_channel_independence_keep_the_output_shape(patch_len, channel_independent):
    config = ModelConfig(hidden_size=8, patch_len=patch_len, channel_independent=channel_independent)
    x = torch.randn(B, L, F)
    assert BiLSTMNet(config, F, F, T, L)(x).shape == (B, T, F)
    assert BiLSTMNet(config, 1, 1, T, L)(x[..., :1]).shape == (B, T)


@pytest.mark.parametrize("norm", ["none", "last", "revin", "robust"])
def test_channel_independence_equals_one_shared_network_per_channel(norm):
    config = ModelConfig(hidden_size=8, patch_len=4, instance_norm=norm)
    torch.manual_seed(0)
    joint = BiLSTMNet(config.model_copy(update={"channel_independent": True}), F, F, T, L).eval()
    single = BiLSTMNet(config, 1, 1, T, L).eval()
    single.load_state_dict(joint.state_dict())  # the same weights: the shared network sees one channel
    x = torch.randn(B, L, F)
    together = joint(x)
    for channel in range(F):
        torch.testing.assert_close(together[..., channel], single(x[..., channel : channel + 1]))


def test_channel_independent_channels_do_not_see_each_other():
    config = ModelConfig(patch_len=24, hidden_size=8, channel_independent=True)
    model = BiLSTMNet(config, F, F, T, L).eval()
    x = torch.randn(B, L, F)
    changed = x.clone()
    changed[..., 0] += torch.randn(B, L)
    torch.testing.assert_close(model(changed)[..., 1:], model(x)[..., 1:])


def test_revin_round_trip_with_segments_and_channel_independence():
    config = ModelConfig(hidden_size=8, instance_norm="revin", patch_len=4, channel_independent=True)
    model = BiLSTMNet(config, F, F, T, L).eval()
    x = torch.randn(B, L, F)
    torch.testing.assert_close(model(3.0 * x + 50.0), 3.0 * model(x) + 50.0, rtol=1e-4, atol=1e-3)


def test_recurrent_path_reads_the_last_whole_segments_of_a_longer_lookback():
    config = ModelConfig(hidden_size=8, patch_len=5, highway=False, instance_norm="none")
    model = BiLSTMNet(config, F, 1, T, L).eval()  # 24 rows: 4 segments of 5, the first 4 rows unread
    x = torch.randn(B, L, F)
    changed_oldest, changed_recent = x.clone(), x.clone()
    changed_oldest[:, :4] += 1.0
    changed_recent[:, 4] += 1.0
    torch.testing.assert_close(model(changed_oldest), model(x))
    assert not torch.allclose(model(changed_recent), model(x))


def test_lookback_shorter_than_a_segment_is_one_segment():
    model = BiLSTMNet(ModelConfig(hidden_size=8, patch_len=48), F, 1, T, L)
    assert (model.patch_len, model.segments) == (L, 1)
    assert model(torch.randn(B, L, F)).shape == (B, T)


def test_channel_independence_needs_every_input_to_be_a_target():
    with pytest.raises(ValueError, match="data.setting S or M"):
        BiLSTMNet(ModelConfig(patch_len=24, channel_independent=True), F, 1, T, L)


def linear_only(model: BiLSTMNet) -> BiLSTMNet:
    """The model with its recurrent path silenced: the output is the highway's linear map alone."""
    with torch.no_grad():
        model.head[-1].weight.zero_()
        model.head[-1].bias.zero_()
    return model.eval()


@pytest.mark.parametrize("norm", ["none", "last", "revin", "robust", "log_ratio"])
@pytest.mark.parametrize("channel_independent", [False, True])
def test_highway_warm_start_starts_at_the_best_linear_forecaster(norm, channel_independent):
    config = ModelConfig(
        patch_len=24, hidden_size=8, instance_norm=norm, channel_independent=channel_independent
    )
    torch.manual_seed(0)
    teacher = linear_only(BiLSTMNet(config, 2, 2, T, L))
    x = torch.randn(512, L, 2).cumsum(dim=1) + 5.0
    if norm == "log_ratio":  # positive series only
        x = x.abs() + 0.5
    y = teacher(x).detach()
    torch.manual_seed(1)
    student = BiLSTMNet(config, 2, 2, T, L).eval()
    assert not torch.allclose(student(x), y, atol=1e-2)
    student.fit_highway([(x[:256], y[:256]), (x[256:], y[256:])], penalties=[1e-9])
    torch.testing.assert_close(student(x), y, atol=1e-3, rtol=1e-3)


def test_highway_warm_start_needs_a_highway():
    model = BiLSTMNet(ModelConfig(patch_len=24, hidden_size=8, highway=False), F, 1, T, L)
    with pytest.raises(ValueError, match="model.highway is off"):
        model.fit_highway([(torch.randn(B, L, F), torch.randn(B, T))])


def test_highway_warm_start_picks_the_penalty_by_validation_mse():
    """Few noisy windows: a strong penalty generalises better, and only validation can tell."""
    torch.manual_seed(0)
    config = ModelConfig(patch_len=24, hidden_size=8, instance_norm="none")
    model = BiLSTMNet(config, 1, 1, T, L)
    x = torch.randn(64, L, 1)
    y = torch.randn(64, T)  # no linear signal: the best map is the (near) zero one
    held_out = (torch.randn(512, L, 1), torch.randn(512, T))
    chosen = model.fit_highway([(x, y)], [held_out], penalties=[1e-6, 10.0])
    assert chosen == 10.0
    assert model.fit_highway([(x, y)], penalties=[1e-6, 10.0]) == 1e-6


def test_a_series_embedding_is_learned_per_series_and_an_unknown_series_gets_the_mean_vector(tmp_path):
    config = write_shaped(tmp_path, "many", **{"model.series_embedding": 4, "train.epochs": 1})
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = split_and_scale(series, config)
    forecaster = new_forecaster(prepared, config)
    fit_forecaster(forecaster, make_train_windows(prepared, config), config, progress=False)
    embedding = forecaster.model.series_embedding
    assert tuple(embedding.weight.shape) == (3, 4)
    history = long_frame()
    loaded = Forecaster.load(forecaster.save(tmp_path / "bundle"))
    known = loaded.predict(history)
    np.testing.assert_allclose(known["y"], forecaster.predict(history)["y"], rtol=1e-6)
    # the same history under a new name: the mean vector instead of series a's own
    renamed = loaded.predict(history[history.id == "a"].assign(id="new"))
    own, mean = embedding.weight[0], embedding.weight.mean(dim=0)
    assert not torch.allclose(own, mean)
    # (after one epoch from the linear warm start the head is still small: the forecasts differ a little)
    assert not np.array_equal(renamed["y"].to_numpy(), known[known.id == "a"]["y"].to_numpy())
    inputs = torch.zeros(1, 48, 1)
    with torch.no_grad():
        by_mean = loaded.model(inputs, torch.tensor([-1]))
        by_default = loaded.model(inputs)
    torch.testing.assert_close(by_mean, by_default)
    with pytest.raises(ValueError, match="model.series_embedding needs many series"):
        with_overrides(PipelineConfig(), {"model.series_embedding": 4})
