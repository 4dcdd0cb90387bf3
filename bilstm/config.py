"""Typed configuration of the whole pipeline: one pydantic model per consumer.

`PipelineConfig` is what the CLI, the Prefect flow form and the tests build; every field has a default, so
`PipelineConfig()` is the main job (the built-in ETTh1 data set, OT at horizon 24, setting MS).
"""

from __future__ import annotations

import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Section(BaseModel):
    # inf or nan in a float field (`train.lr=inf`) would train on NaN losses: refused as any bad value is
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CsvConfig(_Section):
    """How a CSV file is read."""

    sep: str | None = Field(
        None,
        description="Field separator: one character such as , ; | or \\t (a tab); empty = sniffed from the"
        " file's first lines",
    )
    decimal: Literal[".", ","] | None = Field(
        None,
        description="Decimal mark; empty = ',' where the separator is not ',' and the numbers read 12,5,"
        " else '.'",
    )

    @field_validator("sep")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = {"\\t": "\t", "tab": "\t"}.get(value, value)  # a tab as a shell passes it
        if len(value) != 1 or value.isalnum() or value in '"\r\n':
            raise ValueError(
                "the separator must be one character other than a letter, digit or quote, e.g. ',' ';' '|'"
                " or '\\t' (a tab)"
            )
        return value

    @model_validator(mode="after")
    def _separator_is_not_the_decimal_mark(self) -> CsvConfig:
        if self.sep is not None and self.sep == self.decimal:
            raise ValueError(
                f"sep and decimal are both {self.sep!r}; files with decimal commas usually separate fields"
                " with ';'"
            )
        return self


class DataConfig(_Section):
    """The file, its columns and their roles, how it is checked and split."""

    path: str | None = Field(None, description="CSV or Parquet path or fsspec URI; empty = built-in ETTh1")
    csv: CsvConfig = Field(CsvConfig(), description="How a CSV file separates fields and writes decimals")
    time_column: str = Field("date", description="Column holding the timestamps")
    series_column: str | None = Field(
        None,
        description="Column telling the series of a long table apart (one row per series and time); empty ="
        " the file is one series",
    )
    timezone: str | None = Field(
        None,
        description="Zone of the forecast stamps (Europe/Berlin, +08:00, UTC); empty = the stamps' own"
        " offset, UTC if they mix offsets; stamps without an offset are then local times in it",
    )
    targets: list[str] = Field(["OT"], min_length=1, description="Column(s) to forecast")
    features: list[str] | None = Field(
        None,
        description="Past-only input columns besides the targets; empty = every other numeric column (but"
        " the future ones)",
    )
    future: list[str] = Field(
        [],
        description="Columns known in advance: their values for the horizon are given when forecasting"
        " (a day-ahead load forecast, a planned price); the network reads them over the lookback and the"
        " horizon",
    )
    calendar: list[str] = Field(
        [],
        description="Calendar features derived from the stamps, in the data's own zone, known in advance:"
        " hour, dayofweek, month, ..., holiday:<country> (e.g. holiday:DE)",
    )
    static: list[str] = Field(
        [],
        description="Columns holding an attribute of each series, constant within it (a region, a size):"
        " numeric ones are standardised over the training series, others learned as categories; the"
        " network reads them beside the window's summary",
    )
    setting: Literal["S", "MS", "M"] = Field(
        "MS", description="S: targets in and out; MS: features + targets in, targets out; M: all in and out"
    )
    missing: Literal["error", "ffill", "interpolate"] = Field(
        "error", description="What to do with NaN or empty cells in the used columns"
    )
    duplicates: Literal["error", "first", "last", "mean"] = Field(
        "error",
        description="Rows sharing a timestamp (within a series, in a long table): an error, or merged into"
        " one: the first row, the last, or the mean of each used column",
    )
    max_gap: float = Field(
        3.0,
        ge=1,
        description="Largest step between timestamps, in steps of the inferred frequency (months for monthly"
        " data); a longer gap is an error",
    )
    seasonal_period: int | None = Field(
        None,
        ge=1,
        description="Steps per season (seasonal naive, MASE, the default lookback); empty = from the"
        " frequency: 24 hourly, 48 half-hourly, 7 daily, 5 business days, 52 weekly, 12 monthly, 4"
        " quarterly, 1 yearly",
    )
    split: Literal["auto", "ett", "fractions", "last"] = Field(
        "auto",
        description="auto: ETT borders for the ETTh data sets, last with a series column, fractions"
        " otherwise; last: the last test_steps of every series are test, the val_steps before them"
        " validation",
    )
    train_fraction: float = Field(0.7, gt=0, lt=1, description="Split fractions: the train rows' share")
    test_fraction: float = Field(
        0.2, gt=0, lt=1, description="Split fractions: the test rows' share; validation gets the rest"
    )
    val_steps: int | None = Field(
        None, ge=1, description="Split last: validation steps per series; empty = horizon"
    )
    test_steps: int | None = Field(
        None, ge=1, description="Split last: test steps per series; empty = horizon"
    )
    skip_short: bool = Field(
        False,
        description="Many series: leave out (with a warning) series too short for the split (or a backtest's"
        " or sweep's folds), not fail",
    )
    nonnegative: Literal["auto", True, False] = Field(
        "auto",
        description="Floor forecasts and their bands at 0: true, false, or auto (each target that is a count:"
        " whole numbers >= 0 in the train and validation rows); the choice is kept in the model bundle",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None or re.fullmatch(r"[+-]\d{2}:\d{2}", value):
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name (Europe/Berlin, UTC) or an offset (+08:00)"
            ) from None
        return value

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, value: list[str]) -> list[str]:
        if not value:
            return value
        from bilstm import calendar_features  # pandas and holidays load only for a config with a calendar

        return calendar_features.check(value)

    @model_validator(mode="after")
    def _fractions_leave_validation_rows(self) -> DataConfig:
        if self.train_fraction + self.test_fraction >= 1:
            raise ValueError("train_fraction + test_fraction must be < 1 to leave rows for validation")
        if self.series_column is not None and self.split == "ett":
            raise ValueError(
                "data.split ett is for single ETT files; with a series column use last or fractions"
            )
        if self.series_column is None and self.split == "last":
            raise ValueError("data.split last needs a series column (data.series_column); use fractions")
        if self.series_column is not None and self.series_column == self.time_column:
            raise ValueError("data.series_column and data.time_column must be different columns")
        roles = {"targets": self.targets, "features": self.features or [], "time_column": [self.time_column]}
        roles["series_column"] = [self.series_column] if self.series_column else []
        _one_role(
            "future", self.future, roles, "a future column is an input over the lookback as well, so leave it"
            " out of the others",
        )  # fmt: skip
        roles["future"] = self.future
        _one_role(
            "static", self.static, roles, "a static column holds one value per series, read beside the"
            " window, not in it",
        )  # fmt: skip
        if self.static and self.series_column is None:
            raise ValueError(
                "data.static needs many series (data.series_column): a static column of one series is a"
                " constant, with nothing to learn from; leave data.static empty"
            )
        return self


def _one_role(role: str, columns: list[str], others: dict[str, list[str]], why: str) -> None:
    """Refuse a column of data.<role> that another role (`others`: role -> its columns) also names, or that
    data.<role> names twice; `why` says what the role means."""
    for other, taken in others.items():
        both = [c for c in columns if c in taken]
        if both:
            raise ValueError(
                f"column {both[0]!r} is in data.{role} and data.{other}: a column has one role; {why}"
            )
    if len(set(columns)) < len(columns):
        raise ValueError(f"data.{role} names a column twice: {columns}")


class WindowConfig(_Section):
    """The input window and the steps forecast from it."""

    lookback: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="Input window length (rows); empty = 14 seasonal periods (336 for hourly data), at most"
        " a quarter of the train rows (of many series: 60 % of the shortest series' train rows)",
    )
    horizon: int = Field(24, ge=1, le=10_000, description="Steps forecast at once")


class ScalerConfig(_Section):
    """How values are scaled before the network, fitted on the train rows only."""

    kind: Literal["standard", "minmax", "robust", "mean"] = Field(
        "standard",
        description="Fitted on train rows only; mean: divided by the mean absolute value, nothing"
        " subtracted, so positive series stay positive (needed by model.instance_norm log_ratio)",
    )
    cycle: int = Field(
        0,
        ge=0,
        le=10_000,
        description="Period in steps of a cycle (each column's mean per phase on the train rows) removed"
        " before the network and added back to its forecasts: 24 is a daily cycle of hourly data; 0 is off",
    )
    per_series: bool = Field(
        True,
        description="Many series: one scaler per series, fitted on its own train rows (else one for all)",
    )


class ModelConfig(_Section):
    """The network: a recurrent encoder, a linear highway and an output head."""

    cell: Literal["lstm", "gru"] = Field("lstm", description="Recurrent cell (nn.LSTM or nn.GRU)")
    hidden_size: int = Field(64, ge=1, le=4096, description="Features of each direction's hidden state")
    num_layers: int = Field(2, ge=1, le=16, description="Stacked recurrent layers")
    bidirectional: bool = Field(True, description="Read each window forwards and backwards")
    dropout: float = Field(0.2, ge=0, lt=1, description="Between recurrent layers and before the head")
    head_size: int = Field(20, ge=1, description="Width of the hidden layer of the output head")
    pooling: Literal["last", "mean", "attention"] = Field(
        "last", description="last: final hidden state of each direction; mean/attention: over time"
    )
    highway: bool = Field(
        True, description="Add a linear map of each target's input window to the forecast (as in LSTNet)"
    )
    future_encoder: Literal["lstm", "mlp"] = Field(
        "lstm",
        description="How the covariates known in advance (data.future, data.calendar) are read over the"
        " horizon, beside the highway's linear map of them: lstm, a bidirectional LSTM over the horizon's"
        " steps (each step sees the covariates before and after it); mlp, each step on its own (as TiDE)",
    )
    highway_init: Literal["random", "least_squares"] = Field(
        "least_squares",
        description="Start the highway at the ridge fit of the training windows (least_squares) or at random",
    )
    instance_norm: Literal["none", "last", "revin", "robust", "log_ratio"] = Field(
        "last",
        description="Per-window normalisation: subtract the last value (NLinear), RevIN's mean and deviation,"
        " robust: RevIN with the window's median and median absolute deviation, which a price spike in"
        " the lookback does not stretch, or log_ratio: the log of each value over the window's mean"
        " (positive series; needs scaler.kind mean)",
    )
    channel_independent: bool = Field(
        False, description="Each channel is its own univariate series through one shared network (S or M)"
    )
    series_embedding: int = Field(
        0,
        ge=0,
        le=1024,
        description="Many series: size of a learned vector per series known at training time, read by the"
        " head beside the recurrent state; a series unknown at forecast time gets the mean vector; 0 is off",
    )
    patch_len: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Rows per recurrent step; >1 embeds segments (SegRNN) of the last whole segments;"
        " empty = one seasonal period (24 for hourly data)",
    )
    ensemble: int = Field(
        1,
        ge=1,
        le=100,
        description="Networks trained one after another and forecasting together (seeds train.seed,"
        " train.seed + 1, ...); 1 is a single network",
    )
    ensemble_lookbacks: list[int] = Field(
        [],
        description="The members' lookbacks, taken in turn (each at most window.lookback: a member reads the"
        " last rows of the window); empty = window.lookback for every member",
    )
    ensemble_losses: list[Literal["mse", "huber", "mae", "log_mae"]] = Field(
        [],
        description="The members' losses, taken in turn after each round of lookbacks; empty = train.loss",
    )
    ensemble_norms: list[Literal["none", "last", "revin", "robust", "log_ratio"]] = Field(
        [],
        description="The members' model.instance_norm, taken in turn after each round of lookbacks and"
        " losses; empty = model.instance_norm",
    )
    ensemble_combine: Literal["auto", "median", "mean"] = Field(
        "auto",
        description="How the members' forecasts combine: auto = median or mean, whichever has the lower"
        " validation loss (train.loss)",
    )

    @field_validator("ensemble_lookbacks")
    @classmethod
    def _lookbacks_positive(cls, value: list[int]) -> list[int]:
        if any(lookback < 1 for lookback in value):
            raise ValueError(f"every lookback must be at least 1, got {value}")
        return value


class TrainConfig(_Section):
    """The training loop: Adam, early stopping on the validation windows."""

    epochs: int = Field(10, ge=1, le=10_000, description="Most epochs; early stopping may end sooner")
    batch_size: int = Field(128, ge=1, description="Training windows per step")
    lr: float = Field(5e-4, gt=0, description="Peak learning rate (Adam)")
    weight_decay: float = Field(1e-4, ge=0, description="Adam's L2 penalty on the weights")
    loss: Literal["mse", "huber", "mae", "log_mae"] = Field(
        "mse",
        description="mse; huber (delta 1); mae: the mean absolute error, nearer to sMAPE and MASE; log_mae:"
        " the mean absolute difference of logs, a relative error as sMAPE is (positive series: needs"
        " scaler.kind mean)",
    )
    grad_clip: float = Field(1.0, gt=0, description="Max gradient norm")
    patience: int = Field(3, ge=1, description="Epochs without a better val loss before stopping")
    seed: int = Field(0, description="Seeds the initial weights and the batch order")
    device: str = Field("auto", description="auto = CUDA if available, else CPU; or cpu, cuda, cuda:1")
    threads: int = Field(
        1,
        ge=1,
        description="CPU threads for torch; 1 keeps training fast when other work shares the cores",
    )
    amp: bool = Field(True, description="bf16 autocast when training on CUDA (ignored on CPU)")
    series_sampling: Literal["windows", "uniform_series"] = Field(
        "windows",
        description="Many series: batches drawn uniformly over all windows, or over series first (each series"
        " as often as any other, so short series are not drowned)",
    )
    schedule: Literal["constant", "onecycle", "cosine"] = Field(
        "cosine",
        description="Learning rate per step: constant; onecycle (warm up to lr, then anneal); cosine decay",
    )


class IntervalsConfig(_Section):
    """Prediction intervals, calibrated on the validation windows."""

    levels: list[float] = Field(
        [80, 95],
        description="Prediction interval levels in percent, increasing (conformal, on the validation"
        " windows); [] = no intervals",
    )
    method: Literal["split-conformal", "scaled-residuals"] = Field(
        "scaled-residuals",
        description="Calibrator per horizon step and target: split-conformal (absolute validation residuals,"
        " one band for all windows) or scaled-residuals (residuals over each window's volatility, the mean"
        " absolute first difference of the target over its last seasonal period of inputs)",
    )

    @field_validator("levels")
    @classmethod
    def _levels_are_increasing_percentages(cls, levels: list[float]) -> list[float]:
        if not all(0 < level < 100 for level in levels):
            raise ValueError(
                "each level must lie strictly between 0 and 100 (a percentage), e.g. [80, 95];"
                " [] turns intervals off"
            )
        if any(b <= a for a, b in zip(levels, levels[1:], strict=False)):
            raise ValueError("levels must increase without repeats, e.g. [80, 95]; [] turns intervals off")
        return levels


class RegistryConfig(_Section):
    """Where the run is tracked and registered, and the champion gate."""

    model_name: str = Field(
        "bilstm-forecaster", min_length=1, description="Registered model the run's version joins"
    )
    experiment: str = Field("bilstm-forecaster", min_length=1, description="MLflow experiment of the run")
    gate: Literal["single", "backtest"] = Field(
        "single",
        description="What the champion gate compares: single (the test split) or backtest (the mean over"
        " gate_folds rolling folds, each trained anew: gate_folds more trainings per run)",
    )
    gate_folds: int = Field(4, ge=1, description="Folds of the backtest gate")
    gate_metric: Literal["mse", "mase", "owa"] = Field(
        "mse",
        description="The champion gate's score, lower winning: mse (scaled), mase, or owa (M4's, against"
        " Naive2: data with a seasonal period, on a single split)",
    )
    coverage_tolerance: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Backtest gate: the widest interval level's mean coverage must lie within this of"
        " nominal (0.95 +- 0.05 by default)",
    )
    approval: Literal["auto", "manual"] = Field(
        "auto",
        description="auto: a version that wins the gate becomes champion; manual: the flow run pauses for a"
        " person to approve or reject it in the Prefect UI (its Resume form) first",
    )
    approval_timeout: int = Field(
        86_400,
        ge=1,
        description="Seconds a paused run waits for the decision (manual approval); then nothing is promoted",
    )

    @field_validator("model_name")
    @classmethod
    def _registrable_name(cls, value: str) -> str:
        # what MLflow's registry refuses, which it says only when the trained model is registered
        if not value.strip() or any(c in value for c in "/:%") or value == "." or value.startswith(".."):
            raise ValueError(
                "MLflow cannot register a model under this name: it must not be blank, hold / : or %, be"
                " '.' or start with '..'; e.g. bilstm-forecaster"
            )
        return value


class PipelineConfig(_Section):
    data: DataConfig = DataConfig()
    window: WindowConfig = WindowConfig()
    scaler: ScalerConfig = ScalerConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    intervals: IntervalsConfig = IntervalsConfig()
    registry: RegistryConfig = RegistryConfig()

    @model_validator(mode="after")
    def _model_fits_the_data(self) -> PipelineConfig:
        if self.model.series_embedding and self.data.series_column is None:
            raise ValueError("model.series_embedding needs many series (data.series_column); leave it at 0")
        if self.registry.gate_metric == "owa" and self.registry.gate == "backtest":
            raise ValueError(
                "registry.gate_metric owa is scored on a single split: the backtest gate's folds score mse"
                " or mase; use one of them, or registry.gate single"
            )
        if self.model.channel_independent and (self.data.future or self.data.calendar):
            raise ValueError(
                "model.channel_independent reads each column alone: it cannot read covariates known in"
                " advance (data.future, data.calendar); turn one of them off"
            )
        norms = {self.model.instance_norm, *self.model.ensemble_norms}
        if "log_mae" in {self.train.loss, *self.model.ensemble_losses} and self.scaler.kind != "mean":
            raise ValueError(
                "train.loss log_mae compares the logs of forecasts and targets, so the values the network"
                f" reads must stay positive: scaler.kind {self.scaler.kind} centres them on 0; set"
                " scaler.kind mean"
            )
        if "log_ratio" in norms and self.scaler.kind != "mean":
            raise ValueError(
                "model.instance_norm log_ratio takes the log of each value over its window's mean, so the"
                f" values the network reads must stay positive: scaler.kind {self.scaler.kind} centres them"
                " on 0; set scaler.kind mean"
            )
        longest = max(self.model.ensemble_lookbacks, default=0)
        if self.window.lookback is not None and longest > self.window.lookback:
            raise ValueError(
                f"model.ensemble_lookbacks holds {longest}, longer than window.lookback"
                f" {self.window.lookback}: the windows hold window.lookback rows and a member reads their"
                f" last rows; set window.lookback to {longest} or drop the longer lookbacks"
            )
        if self.model.channel_independent and self.data.setting == "MS":
            raise ValueError(
                "model.channel_independent needs data.setting S or M: with MS the features are inputs only"
            )
        if (
            self.intervals.method == "scaled-residuals"
            and self.intervals.levels
            and self.window.lookback == 1
        ):
            raise ValueError(
                "intervals.method scaled-residuals needs window.lookback of at least 2 (a first difference);"
                " use split-conformal or a longer lookback"
            )
        return self


def flatten(config: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Dotted keys -> values (`model.hidden_size` -> 64), for MLflow params."""
    flat: dict[str, Any] = {}
    for name, value in config:
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            flat.update(flatten(value, f"{key}."))
        else:
            flat[key] = value
    return flat


def with_overrides(config: PipelineConfig, overrides: dict[str, Any]) -> PipelineConfig:
    """A copy of `config` with dotted keys set (`{"train.epochs": 3}`), validated again."""
    tree = config.model_dump()
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = tree
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ValueError(f"unknown config key {dotted!r}: {part!r} is not a section")
            node = node[part]
        if leaf not in node:
            # the keys of that section only: the whole list would run past one line
            where = f"keys of {'.'.join(parents)}" if parents else "sections"
            raise ValueError(f"unknown config key {dotted!r}; known {where}: {', '.join(node)}")
        node[leaf] = value
    return PipelineConfig.model_validate(tree)
