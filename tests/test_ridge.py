"""bilstm.ridge: the closed-form ridge fit of the highway's warm start and the linear floor of bench/."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from bilstm.ridge import fit_ridge


def test_ridge_matches_scikit_learn_with_the_penalty_scaled_by_the_rows():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 12)), rng.normal(size=(300, 4))
    batches = [
        (torch.from_numpy(x[:100]), torch.from_numpy(y[:100])),
        (torch.from_numpy(x[100:]), torch.from_numpy(y[100:])),
    ]
    fit = fit_ridge(batches, penalties=[0.5])
    expected = Ridge(alpha=0.5 * 300).fit(x, y)
    np.testing.assert_allclose(fit.weight.numpy(), expected.coef_.T, atol=1e-6)
    np.testing.assert_allclose(fit.bias.numpy(), expected.intercept_, atol=1e-6)


def test_ridge_picks_the_penalty_with_the_lowest_validation_mse():
    torch.manual_seed(0)
    x, y = torch.randn(40, 24, dtype=torch.float64), torch.randn(40, 3, dtype=torch.float64)
    held_out = (torch.randn(500, 24, dtype=torch.float64), torch.randn(500, 3, dtype=torch.float64))
    assert fit_ridge([(x, y)], [held_out], penalties=[1e-6, 10.0]).penalty == 10.0  # no signal: shrink
    assert fit_ridge([(x, y)], penalties=[1e-6, 10.0]).penalty == 1e-6


def test_ridge_needs_training_rows():
    with pytest.raises(ValueError, match="without any training rows"):
        fit_ridge([])
