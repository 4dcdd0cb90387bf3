"""What a forecaster was trained on, kept in its bundle: the columns (features first, targets last; those
known in advance among them), the window, the frequency and season, the zone of the stamps, the series
column, and the policy for missing values a history is read with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bilstm.calendar_steps import seasonal_period
from bilstm.job import NAIVE


@dataclass
class WindowSpec:
    """What the network was trained on: columns (features first, targets last), window, frequency, and the
    zone of the data's stamps (None: stamps without offsets), where forecast stamps are shown."""

    time_column: str
    input_columns: list[str]
    target_columns: list[str]
    lookback: int
    horizon: int
    freq: str
    timezone: str | None = None  # '+08:00', 'UTC', 'Europe/Berlin'; bundles before format 3 have none
    series_column: str | None = None  # many series in a long table; None: one series
    seasonal_period: int | None = None  # steps per season; None (older bundles): the frequency's own
    missing: str = "error"  # data.missing of the training run, which a history is read with too
    zone_recorded: bool = False  # `timezone` is the training data's (None: no zone); older: any zone passes
    future_columns: list[str] = field(default_factory=list)  # data.future: given for the horizon to forecast
    calendar: list[str] = field(default_factory=list)  # data.calendar: derived from the stamps
    calendar_columns: list[str] = field(default_factory=list)  # the calendar's input columns
    static_columns: list[str] = field(default_factory=list)  # data.static: one value per series, not inputs

    @property
    def known_columns(self) -> list[str]:
        """The input columns known in advance, which the network reads over the horizon too."""
        return self.future_columns + self.calendar_columns

    @property
    def file_columns(self) -> list[str]:
        """The input columns a history file holds: all but the calendar's, derived from the stamps."""
        return [c for c in self.input_columns if c not in self.calendar_columns]

    @property
    def ahead(self) -> int:
        """Rows past the lookback the network's inputs run over: the horizon's, with known covariates."""
        return self.horizon if self.known_columns else 0

    @property
    def recorded_zone(self) -> str | None:
        """The zone data must fit (`bilstm.zone_match`): the training data's, NAIVE, or None (any)."""
        return (self.timezone or NAIVE) if self.zone_recorded else None

    @property
    def period(self) -> int:
        return self.seasonal_period or seasonal_period(self.freq)
