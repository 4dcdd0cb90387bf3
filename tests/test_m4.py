"""bilstm.m4 (M4's seasonality test, seasonal indices, MASE's scale, OWA) and bench/m4_series.py (Naive2,
seasonal naive, sMAPE and MASE of one series) on series whose answers are known, and bench/m4_long.py on a
tiny wide file."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bilstm import m4

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "bench"))
import m4_series  # noqa: E402  (bench/ is not a package)

# R's AirPassengers (monthly, 1949-1960), its `acf` and its `decompose(AirPassengers, type =
# "multiplicative")$figure`: the functions M4's "Benchmarks and Evaluation.R" calls for Naive2
AIR_PASSENGERS = np.array(
    [
        [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118],
        [115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140],
        [145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166],
        [171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194],
        [196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201],
        [204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229],
        [242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278],
        [284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306],
        [315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336],
        [340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337],
        [360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405],
        [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432],
    ],
    dtype=float,
).ravel()
R_ACF = [0.948, 0.876, 0.807, 0.753, 0.714, 0.682, 0.663, 0.656, 0.671, 0.703, 0.743, 0.760]  # lags 1-12
R_DECOMPOSE_FIGURE = [
    0.9102304, 0.8836253, 1.0073663, 0.9759060, 0.9813780, 1.1127758,
    1.2265555, 1.2199110, 1.0604919, 0.9217572, 0.8011781, 0.8988244,
]  # fmt: skip


def periodic_series(rows: int, period: int, phase: int = 0, seed: int = 0):
    """(rows,) level 100 times a season of `period` positive indices averaging 1, started at `phase` of the
    season; and those indices."""
    season = np.random.default_rng(seed).uniform(0.5, 1.5, period)
    season /= season.mean()
    return 100.0 * season[(phase + np.arange(rows)) % period], season


def test_pure_multiplicative_series_gives_back_its_indices_counted_from_its_start():
    series, season = periodic_series(rows=10 * 24 + 7, period=24, phase=5)
    # position 0 of the series is position 5 of the season
    np.testing.assert_allclose(m4.seasonal_indices(series, 24), np.roll(season, -5), rtol=1e-12)


def test_naive2_forecasts_a_pure_multiplicative_series_exactly():
    whole, _ = periodic_series(rows=20 * 24 + 11, period=24, phase=3)
    insample, future = whole[:-48], whole[-48:]
    assert m4.seasonality_detected(insample, 24)
    np.testing.assert_allclose(m4_series.naive2_forecast(insample, 48, 24), future, rtol=1e-12)


def test_autocorrelations_and_seasonal_indices_match_r_on_air_passengers():
    np.testing.assert_allclose(m4._autocorrelations(AIR_PASSENGERS, 12), R_ACF, atol=5e-4)
    # |0.760| against 1.645 * sqrt((1 + 2 * sum of lags 1-11 squared) / 144) = 0.503
    assert m4.seasonality_detected(AIR_PASSENGERS, 12)
    np.testing.assert_allclose(m4.seasonal_indices(AIR_PASSENGERS, 12), R_DECOMPOSE_FIGURE, atol=5e-8)


def test_white_noise_is_seasonal_about_one_time_in_ten_a_periodic_series_always():
    rng = np.random.default_rng(0)
    flagged = [m4.seasonality_detected(10 + rng.normal(size=700), 24) for _ in range(300)]
    # the test's size is 10 %: |acf| beyond 1.645 standard errors
    assert 0.04 < np.mean(flagged) < 0.16
    assert m4.seasonality_detected(periodic_series(rows=72, period=24)[0], 24)


def test_too_short_or_constant_series_are_not_seasonal_and_naive2_is_persistence():
    short, _ = periodic_series(rows=3 * 24 - 1, period=24)
    assert not m4.seasonality_detected(short, 24)
    np.testing.assert_array_equal(m4_series.naive2_forecast(short, 5, 24), np.full(5, short[-1]))
    assert not m4.seasonality_detected(np.full(200, 7.0), 24)


def test_seasonal_naive_of_a_periodic_series_is_exact():
    whole, _ = periodic_series(rows=5 * 24 + 13 + 50, period=24)
    np.testing.assert_array_equal(m4_series.seasonal_naive_forecast(whole[:-50], 50, 24), whole[-50:])


def test_smape_and_mase_by_hand():
    insample = np.array([1.0, 3.0, 2.0, 6.0])  # |2 - 1|, |6 - 3| at lag 2: scale 2
    assert m4.mase_scale(insample, 2) == 2.0
    assert m4.mase_scale(np.array([1.0, 3.0]), 2) == 2.0  # not longer than a period: lag 1
    scores = m4_series.series_scores(insample, np.array([4.0, 10.0]), {"f": np.array([5.0, 10.0])}, 2)
    assert scores == pytest.approx({"f_smape": (200 * 1 / 9 + 0) / 2, "f_mase": (1 + 0) / 2 / 2})


def test_owa_of_naive2_against_itself_is_one_and_halves_with_both_errors():
    whole = 50 + 10 * np.random.default_rng(1).normal(size=300)
    naive2 = m4_series.naive2_forecast(whole[:-48], 48, 24)
    scores = m4_series.series_scores(whole[:-48], whole[-48:], {"Naive2": naive2}, 24)
    smape, mase = scores["Naive2_smape"], scores["Naive2_mase"]
    assert m4.owa(smape, mase, smape, mase) == 1.0
    assert m4.owa(smape / 2, mase / 2, smape, mase) == 0.5


def test_a_forecast_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="'f' has 3 steps, the truth 2"):
        m4_series.series_scores(np.ones(10), np.ones(2), {"f": np.ones(3)}, 2)


def run_m4_long(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPOSITORY / "bench" / "m4_long.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPOSITORY)


def test_m4_long_turns_the_wide_file_into_a_sorted_long_table(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text('"V1","V2","V3","V4"\n"H2",5,6,7\n"H10",1,2,\n"H1",3,,\n"H3",9,9,9\n')
    out = tmp_path / "long.csv"
    done = run_m4_long("--source", str(wide), "--out", str(out), "--series", "3")
    assert done.returncode == 0, done.stderr
    assert "6 rows of 3 series" in done.stdout
    table = pd.read_csv(out)
    assert list(table.columns) == ["unique_id", "ds", "y"]
    assert table["unique_id"].tolist() == ["H1", "H10", "H10", "H2", "H2", "H2"]
    assert table["ds"].tolist()[3:] == ["2000-01-01 00:00:00", "2000-01-01 01:00:00", "2000-01-01 02:00:00"]
    assert table["y"].tolist() == [3, 1, 2, 5, 6, 7]


def test_m4_long_refuses_an_empty_cell_inside_a_series(tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_text('"V1","V2","V3","V4"\n"H1",5,,7\n')
    done = run_m4_long("--source", str(wide), "--out", str(tmp_path / "long.csv"))
    assert done.returncode != 0
    assert "series H1 have empty cells before their last value" in done.stderr
