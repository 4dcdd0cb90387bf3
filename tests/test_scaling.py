"""Scaler: fit on train rows, transform / inverse round trip, JSON state."""

import json

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from bilstm.scaling import Scaler


@pytest.mark.parametrize("kind", ["standard", "minmax", "robust"])
def test_scaler_round_trips_values_and_json_state(kind):
    values = np.random.default_rng(0).normal(5, 3, size=(200, 3))
    scaler = Scaler(kind).fit(values[:150])
    scaled = scaler.transform(values)
    np.testing.assert_allclose(scaler.inverse_transform(scaled), values)
    restored = Scaler.from_json(json.loads(json.dumps(scaler.to_json())))
    np.testing.assert_allclose(restored.transform(values), scaled)
    np.testing.assert_allclose(restored.inverse_transform(scaled[:, 2:], slice(2, None)), values[:, 2:])


def test_standard_scaler_matches_scikit_learn_fitted_on_train_rows():
    values = np.random.default_rng(1).normal(size=(100, 2))
    expected = StandardScaler().fit(values[:70]).transform(values)
    np.testing.assert_allclose(Scaler("standard").fit(values[:70]).transform(values), expected)


def test_constant_column_does_not_divide_by_zero():
    values = np.column_stack([np.ones(50), np.arange(50.0)])
    scaled = Scaler("standard").fit(values).transform(values)
    np.testing.assert_array_equal(scaled[:, 0], 0.0)  # a constant column scales to zeros
    np.testing.assert_allclose([scaled[:, 1].mean(), scaled[:, 1].std()], [0.0, 1.0], atol=1e-12)


def test_unknown_scaler_is_refused():
    with pytest.raises(ValueError, match="unknown scaler 'zscore'"):
        Scaler("zscore")
