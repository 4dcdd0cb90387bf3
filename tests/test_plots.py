"""The figures: prediction bands shaded and named by level, under the lines, for one series, for many and for
a training run's test forecasts; date ticks that do not overlap at any frequency, in the data's own zone."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, num2date

from bilstm import forecast_plots, plots
from bilstm.data import SeriesTable
from bilstm.evaluation import Evaluation
from bilstm.promise import Band

LEVELS = ["95 % interval", "80 % interval"]  # the widest first: drawn first, under the narrower


def history_and_forecast(freq: str, rows: int = 120, horizon: int = 12, tz: str | None = None):
    times = pd.date_range("2023-03-20", periods=rows + horizon, freq=freq, tz=tz)
    values = 10 + np.sin(np.arange(rows + horizon) / 3)
    history = pd.Series(values[:rows], index=times[:rows], name="y")
    point, width = values[rows:], np.linspace(0.5, 1.5, horizon)
    forecast = pd.DataFrame(
        {"y": point, "y_lo_80": point - width, "y_hi_80": point + width}
        | {"y_lo_95": point - 2 * width, "y_hi_95": point + 2 * width},
        index=times[rows:],
    )
    return history, forecast


def fills(ax) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def legend_texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


def assert_date_ticks_do_not_overlap(figure, ax) -> None:
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    assert isinstance(ax.xaxis.get_major_locator(), AutoDateLocator)
    assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in ax.get_xticklabels() if t.get_text()]
    assert len(boxes) >= 3
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 < right.x0, "tick labels overlap"


@pytest.mark.parametrize("freq", ["h", "D", "B", "MS", "QS-JAN"])
def test_forecast_ahead_shades_the_bands_named_by_level_under_the_forecast_with_readable_dates(freq):
    history, forecast = history_and_forecast(freq)
    figure = forecast_plots.forecast_ahead(history, forecast, lookback=48)
    ax = figure.axes[0]

    bands = fills(ax)
    assert len(bands) == 2
    assert [band.get_label() for band in bands] == LEVELS
    assert all(band.get_zorder() < line.get_zorder() for band in bands for line in ax.lines)
    # the narrower band, drawn last, is the stronger tint of the forecast's colour
    assert bands[1].get_facecolor()[0][1] < bands[0].get_facecolor()[0][1]
    assert set(LEVELS) <= set(legend_texts(ax.get_legend()))
    assert_date_ticks_do_not_overlap(figure, ax)


def test_forecast_ahead_without_band_columns_draws_no_fill():
    history, forecast = history_and_forecast("h")
    ax = forecast_plots.forecast_ahead(history, forecast[["y"]], lookback=48).axes[0]
    assert fills(ax) == []
    assert not any("interval" in text for text in legend_texts(ax.get_legend()))


def test_zoned_stamps_are_ticked_and_labelled_in_the_data_zone():
    history, forecast = history_and_forecast("h", rows=48, tz="Asia/Kolkata")  # UTC+05:30
    history.index = history.index.tz_convert("UTC")  # as a series keeps it
    figure = forecast_plots.forecast_ahead(history, forecast, lookback=48)
    ax = figure.axes[0]
    FigureCanvasAgg(figure).draw()

    ticks = [num2date(value, tz=forecast.index.tz) for value in ax.get_xticks()]
    assert all(tick.minute == 0 and tick.hour % 3 == 0 for tick in ticks)  # local hours, not UTC's :30
    assert "up to 2023-03-21 23:00+05:30" in ax.get_title()


def test_many_series_forecast_shows_the_first_series_each_with_its_bands_and_one_legend():
    parts, tables = [], []
    for number, series in enumerate(["a", "b", "c", "d", "e"]):
        history, forecast = history_and_forecast("MS")
        parts.append(pd.DataFrame({"id": series, "y": history + number}))
        tables.append(forecast.assign(id=series))
    figure = forecast_plots.series_forecasts_ahead(pd.concat(parts), pd.concat(tables), "id", lookback=24)

    assert len(figure.axes) == 4 and "4 of 5 series" in figure.get_suptitle()
    assert [ax.get_title().split(":")[0] for ax in figure.axes] == [
        "series a",
        "series b",
        "series c",
        "series d",
    ]
    assert all(len(fills(ax)) == 2 for ax in figure.axes)
    assert set(LEVELS) <= set(legend_texts(figure.legends[0]))
    assert_date_ticks_do_not_overlap(figure, figure.axes[-1])


def test_many_series_forecast_shows_the_best_median_and_worst_by_the_models_test_smape():
    parts, tables = [], []
    for number, series in enumerate(["a", "b", "c", "d", "e"]):
        history, forecast = history_and_forecast("MS")
        parts.append(pd.DataFrame({"id": series, "y": history + number}))
        tables.append(forecast.assign(id=series))
    by_series = pd.DataFrame({"id": ["a", "b", "c", "d", "e", "z"], "smape": [4.0, 1.0, 3.0, 9.0, 2.0, 0.5]})
    picks = forecast_plots.ranked_picks(by_series, "id", np.array(["a", "b", "c", "d", "e"]))

    figure = forecast_plots.series_forecasts_ahead(
        pd.concat(parts), pd.concat(tables), "id", lookback=24, picks=picks
    )

    assert picks == {
        "b": "best (test sMAPE 1.00)",
        "c": "median (test sMAPE 3.00)",
        "d": "worst (test sMAPE 9.00)",
    }
    assert [ax.get_title().split(": series")[0] for ax in figure.axes] == list(picks.values())
    assert "3 of 5 series, best, median and worst by test sMAPE" in figure.get_suptitle()


def test_training_forecast_plot_shades_each_shown_window_and_names_the_levels_once():
    rows, horizon = 40, 6
    truth = np.sin(np.arange(rows + horizon - 1) / 4)
    windows = np.lib.stride_tricks.sliding_window_view(truth, horizon)[:, :, None]
    bands = {80.0: (windows - 0.2, windows + 0.2), 95.0: (windows - 0.4, windows + 0.4)}
    times = pd.date_range("2024-01-01", periods=rows + horizon - 1, freq="h", tz="UTC")
    count = len(windows)
    evaluation = Evaluation(
        {}, pd.DataFrame(), pd.DataFrame(), windows, windows, np.zeros(count), np.arange(count), times, bands
    )
    figure = plots.forecast_plot(evaluation, ["y"], windows=4, timezone="+08:00")
    ax = figure.axes[0]

    assert len(fills(ax)) == 4 * 2
    assert [text for text in legend_texts(ax.get_legend()) if "interval" in text] == LEVELS
    assert_date_ticks_do_not_overlap(figure, ax)
    ticks = [num2date(value, tz=times.tz_convert("+08:00").tz) for value in ax.get_xticks()]
    assert all(tick.hour % 3 == 0 for tick in ticks)  # local hours; UTC's are 8 hours off


def test_best_median_worst_series_plot_shades_the_bands_and_ticks_dates():
    rows, horizon = 30, 4
    times = pd.date_range("2024-01-01", periods=rows, freq="D")
    panel = SeriesTable(
        frame=pd.DataFrame({"y": np.arange(3 * rows, dtype=float)}, index=times.append([times, times])),
        ids=np.array(["a", "b", "c"]),
        offsets=np.array([0, rows, 2 * rows, 3 * rows]),
        file_rows=np.arange(1, 3 * rows + 1),
        source="long.csv",
        name="long",
        series_column="id",
        input_columns=["y"],
        target_columns=["y"],
        freq="D",
    )
    point = np.ones((3, horizon, 1))
    evaluation = Evaluation(
        {},
        pd.DataFrame({"id": ["a", "b", "c"], "smape": [3.0, 1.0, 2.0]}),
        pd.DataFrame(),
        point,
        point,
        series=np.arange(3),
        first_rows=np.array([rows - horizon, 2 * rows - horizon, 3 * rows - horizon]),
        times=panel.frame.index,
        bands={80.0: (point - 1, point + 1), 95.0: (point - 2, point + 2)},
    )
    figure = plots.series_forecast_plot(evaluation, panel)

    assert [ax.get_title().split(":")[0] for ax in figure.axes] == ["best", "median", "worst"]
    assert all(len(fills(ax)) == 2 for ax in figure.axes)
    assert set(LEVELS) <= set(legend_texts(figure.legends[0]))
    assert_date_ticks_do_not_overlap(figure, figure.axes[0])


def test_monitor_plot_ticks_the_windows_dates_in_the_data_zone():
    times = pd.date_range("2024-06-01", periods=72, freq="h", tz="UTC").tz_convert("+05:30")
    errors = np.linspace(0.1, 0.3, len(times))
    band = Band(expected=0.2, low=0.15, high=0.25, threshold=0.3, test_false_alarm_rate=0.01)
    figure = plots.monitor_plot(times, errors, errors + 0.1, band, degraded=False)
    ax = figure.axes[0]

    assert_date_ticks_do_not_overlap(figure, ax)
    assert all(num2date(value, tz=times.tz).minute == 0 for value in ax.get_xticks())  # not UTC's :30
