"""Scaler: fit on train rows, per series or pooled, transform / inverse round trip, JSON state (and the
scikit-learn state of bundles before format 6)."""

import json

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from bilstm.data import load_table
from bilstm.pipeline import split_and_scale
from bilstm.scaling import Scaler
from tests.helpers import SHAPES, long_frame, write_shaped


@pytest.mark.parametrize("kind", ["standard", "minmax", "robust", "mean"])
def test_scaler_round_trips_values_and_json_state(kind):
    values = np.random.default_rng(0).normal(5, 3, size=(200, 3))
    scaler = Scaler.fit(kind, values[:150])
    scaled = scaler.transform(values)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), values)
    restored = Scaler.from_json(json.loads(json.dumps(scaler.to_json())))
    np.testing.assert_allclose(restored.transform(values), scaled)
    np.testing.assert_allclose(restored.inverse_transform(scaled[:, 2:], slice(2, None)), values[:, 2:])


@pytest.mark.parametrize(
    "kind, sklearn", [("standard", StandardScaler), ("minmax", MinMaxScaler), ("robust", RobustScaler)]
)
def test_one_series_scales_as_scikit_learn_fitted_on_train_rows(kind, sklearn):
    values = np.random.default_rng(1).normal(size=(100, 2))
    expected = sklearn().fit(values[:70]).transform(values)
    np.testing.assert_allclose(Scaler.fit(kind, values[:70]).transform(values), expected)


@pytest.mark.parametrize("kind, sklearn", [("standard", StandardScaler), ("minmax", MinMaxScaler)])
def test_a_scikit_learn_state_of_an_older_bundle_reads_as_the_same_scaler(kind, sklearn):
    values = np.random.default_rng(2).normal(3, 2, size=(80, 2))
    fitted = sklearn().fit(values)
    names = {"standard": ("mean_", "scale_"), "minmax": ("min_", "scale_")}[kind]
    state = {"kind": kind, "params": {}, "state": {n: getattr(fitted, n).tolist() for n in names}}
    np.testing.assert_allclose(Scaler.from_json(state).transform(values), fitted.transform(values))


def test_each_series_is_scaled_by_its_own_train_rows_or_all_by_one_when_pooled():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 1, 50), rng.normal(100, 10, 50)])[:, None]
    row_series, ids = np.repeat([0, 1], 50), np.array(["a", "b"])
    train = np.tile(np.arange(50) < 40, 2)
    scaler = Scaler.fit("standard", values, row_series, ids, train)
    np.testing.assert_allclose(scaler.center[:, 0], [values[:40].mean(), values[50:90].mean()])
    scaled = scaler.transform(values, series=row_series)
    np.testing.assert_allclose(scaler.inverse_transform(scaled, series=row_series), values)
    pooled = Scaler.fit("standard", values, row_series, ids, train, per_series=False)
    np.testing.assert_allclose(pooled.center[:, 0], values[train].mean())
    np.testing.assert_allclose(scaler.units(series=np.array([1, 0]))[:, 0], scaler.scale[[1, 0], 0])


@pytest.mark.parametrize("shape", SHAPES)
def test_the_job_scales_each_series_by_its_own_train_rows_or_all_by_one_when_pooled(tmp_path, shape):
    by_series = long_frame().groupby("id")["y"]  # one series: series a alone
    config = write_shaped(tmp_path, shape)
    prepared = split_and_scale(load_table(config.data), config)
    # one series: the first 70 % of its rows; many (split last): all but the last two horizons of each
    train_rows = {"one": {"a": 140}, "many": {"a": 176, "b": 236, "c": 206}}[shape]
    for number, (name, rows) in enumerate(train_rows.items()):
        train = by_series.get_group(name).to_numpy()[:rows]
        assert prepared.scaler.center[number, 0] == pytest.approx(train.mean())
        assert prepared.scaler.scale[number, 0] == pytest.approx(train.std())
    pooled = split_and_scale(
        load_table(config.data), write_shaped(tmp_path, shape, **{"scaler.per_series": False})
    )
    assert np.unique(pooled.scaler.center).size == 1


def test_a_series_never_fitted_is_scaled_by_its_own_rows():
    values = np.array([1.0, 3.0, 10.0, 30.0])[:, None]
    fitted = Scaler.fit("standard", values[:2], np.zeros(2, dtype=int), np.array(["a"]))
    both = fitted.with_unknown(np.array(["a", "new"]), values, np.repeat([0, 1], 2))
    np.testing.assert_allclose(both.center[:, 0], [2.0, 20.0])
    assert list(fitted.numbers(np.array(["new", "a"]))) == [-1, 0]


def test_mean_scaling_divides_each_series_by_its_mean_absolute_train_value_and_keeps_signs():
    values = np.array([[2.0], [4.0], [6.0], [100.0], [-1.0], [3.0], [50.0]])
    row_series = np.array([0, 0, 0, 0, 1, 1, 1])
    train = np.array([True, True, True, False, True, True, False])
    scaler = Scaler.fit("mean", values, row_series, np.array(["a", "b"], dtype=object), train)
    np.testing.assert_allclose(scaler.center, 0.0)
    np.testing.assert_allclose(scaler.scale[:, 0], [4.0, 2.0])
    scaled = scaler.transform(values, series=row_series)[:, 0]
    np.testing.assert_allclose(scaled, [0.5, 1, 1.5, 25, -0.5, 1.5, 25])


def test_constant_column_does_not_divide_by_zero():
    values = np.column_stack([np.ones(50), np.arange(50.0)])
    scaled = Scaler.fit("standard", values).transform(values)
    np.testing.assert_array_equal(scaled[:, 0], 0.0)  # a constant column scales to zeros
    np.testing.assert_allclose([scaled[:, 1].mean(), scaled[:, 1].std()], [0.0, 1.0], atol=1e-12)


def test_unknown_scaler_is_refused():
    with pytest.raises(ValueError, match="unknown scaler 'zscore'"):
        Scaler.fit("zscore", np.ones((3, 1)))
