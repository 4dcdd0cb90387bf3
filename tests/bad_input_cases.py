"""The bad-input catalogue, read by `tests/test_bad_inputs.py` (which asserts every case) and
`bench/bad_inputs.py` (which prints it as a table): the `bilstm` command that reads each bad input and the
one line it must answer with. The files themselves are made by `tests/bad_input_files.py`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import tiny_args

FORECAST = "bilstm-forecasts"  # the experiment a failed forecast run lands in
MONITOR = "bilstm-monitoring"  # and a failed monitor run


@dataclass(frozen=True)
class Case:
    """One bad input. `args` and `message` write the case folder as `{d}`."""

    name: str
    args: str  # the `bilstm` command line; train, backtest or sweep without --config get `tiny_args()` first
    message: str  # regex of the one error line (of the warning line where `warns`)
    experiment: str | None = None  # where the command opens a run that must end FAILED; None: no run
    warns: bool = False  # documented behaviour, not an error: exit 0 with a warning

    @property
    def exit_code(self) -> int:
        return 0 if self.warns else 2

    def argv(self, folder: Path) -> list[str]:
        argv = self.args.format(d=folder).split()
        if argv[0] in ("train", "backtest", "sweep") and "--config" not in argv:
            argv[1:1] = tiny_args()  # the tiny job on the synthetic files; the case's options come later, win
        return argv

    def pattern(self, folder: Path) -> str:
        return self.message.format(d=re.escape(str(folder)))


CASES = [
    Case("missing file", "train --data {d}/nowhere.csv", r"{d}/nowhere\.csv: file not found"),
    Case("empty file", "train --data {d}/empty.csv", r"{d}/empty\.csv: the file has no data rows"),
    Case("unreadable file", "train --data {d}/binary.csv", r"{d}/binary\.csv: cannot be read"),
    Case("unsupported format", "train --data {d}/data.xlsx", r"{d}/data\.xlsx: unsupported format"),
    Case(
        "missing time column",
        "train --data {d}/no_time.csv",
        r"{d}/no_time\.csv: time column 'timestamp' not found; available: x, y",
    ),
    Case(
        "unparseable timestamps",
        "train --data {d}/bad_time.csv",
        r"{d}/bad_time\.csv: column 'timestamp' has unparseable timestamps in row 10 \(e\.g\. 'soon'\)",
    ),
    Case(
        "duplicate timestamps",
        "train --data {d}/duplicate_time.csv",
        r"{d}/duplicate_time\.csv: column 'timestamp' has duplicate timestamps in rows 5, 6; set"
        r" data\.duplicates to first, last or mean to merge them, or drop them$",
    ),
    Case(
        "forced separator that is not the file's",
        "train --data {d}/semicolon.csv --sep ,",
        r"{d}/semicolon\.csv: time column 'timestamp' not found; available: timestamp;x;y; the file seems to"
        r" use ';' as separator: pass --sep ';'$",
    ),
    Case(
        "decimal commas read with --decimal .",
        "train --data {d}/semicolon.csv --decimal .",
        r"{d}/semicolon\.csv: column 'y' is not numeric \(rows 1, 2, 3, 4, 5 \(and 1195 more\), e\.g\."
        r" '[\d,]+'\); the file seems to write decimals with ',': pass --decimal ','$",
    ),
    Case(
        "separator of two characters",
        "train --data {d}/good.csv --sep ;;",
        r"invalid config: data\.csv\.sep: the separator must be one character other than a letter, digit or"
        r" quote, e\.g\. ',' ';' '\|' or '\\t' \(a tab\) \(got ';;'\)$",
    ),
    Case(
        "forecast history read with a forced separator that is not the file's",
        "forecast --data {d}/semicolon.csv --sep , --output {d}/f11.csv",
        r"{d}/semicolon\.csv: time column 'timestamp' not found; available: timestamp;x;y; the file seems to"
        r" use ';' as separator: pass --sep ';'$",  # checked against the model's job before any run
    ),
    Case(
        "forecast with a decimal mark other than . or ,",
        "forecast --data {d}/good.csv --decimal x --output {d}/f12.csv",
        r"--decimal 'x': Input should be '\.' or ','$",
    ),
    Case(
        "irregular gap beyond max_gap",
        "train --data {d}/gap.csv",
        r"{d}/gap\.csv: a gap of 0 days 11:00:00 between rows 300 and 301 .* longer than data\.max_gap=3"
        r" steps of h; fill or resample the missing timestamps, or raise data\.max_gap",
    ),
    Case(
        "NaN in target",
        "train --data {d}/nan_target.csv",
        r"{d}/nan_target\.csv: column 'y' has missing values in rows 201, 202; fill them or set data\.",
    ),
    Case(
        "inf in feature",
        "train --data {d}/inf_feature.csv",
        r"{d}/inf_feature\.csv: column 'x' has inf in row 8",
    ),
    Case(
        "non-numeric feature",
        "train --data {d}/text_feature.csv",
        r"{d}/text_feature\.csv: column 'x' is not numeric \(row 4, e\.g\. 'abc'\)",
    ),
    Case(
        "target column missing",
        "train --data {d}/no_target.csv",
        r"{d}/no_target\.csv: column 'y' not found; available: timestamp, x; choose the target with"
        r" --target$",
    ),
    Case(
        "missing values in two columns",
        "train --data {d}/nan_two_columns.csv",
        r"{d}/nan_two_columns\.csv: column 'x' has missing values in rows 8, 9, column 'y' in row 201;"
        r" fill them",
    ),
    Case(
        "several series in one long table",
        "train --data {d}/long_table.csv",
        r"{d}/long_table\.csv: column 'timestamp' has duplicate timestamps in rows 1, 2, 3, 4, 5 \(and 2395"
        r" more\): this looks like 2 series in one table, told apart by column 'sensor'; pass"
        r" --series-column sensor to train one model across them$",
    ),
    Case(
        "many series: the series column missing",
        "train --data {d}/long_table.csv --series-column station",
        r"{d}/long_table\.csv: series column 'station' not found; available: timestamp, x, y, sensor"
        r" \(set --series-column\)$",
    ),
    Case(
        "many series: a row without a series id",
        "train --data {d}/long_table_no_id.csv --series-column sensor",
        r"{d}/long_table_no_id\.csv: series column 'sensor' is empty in row 1207; give every row its series"
        r" id$",
    ),
    Case(
        "many series: a repeated (series, time) pair",
        "train --data {d}/long_table_repeat.csv --series-column sensor",
        r"{d}/long_table_repeat\.csv: series 'south' has duplicate timestamps in column 'timestamp' in rows"
        r" 1204, 2401; keep one row per series and time, or set data\.duplicates to first, last or mean to"
        r" merge them$",
    ),
    Case(
        "many series: one series too short",
        "train --data {d}/long_table_short.csv --series-column sensor",
        r"{d}/long_table_short\.csv: series 'south' \(file rows 1201-1250\) has 50 rows, too few for lookback"
        r" 48 \+ horizon 12 \(needs at least 84 rows\); shorten the lookback, or pass --skip-short to leave"
        r" such series out$",
    ),
    Case(
        "many series: a cycle one series' train rows cannot fill",
        "train --data {d}/long_table_cycle.csv --series-column sensor --set scaler.cycle=168",
        r"{d}/long_table_cycle\.csv: scaler\.cycle=168: the train rows of series 'south' miss phase\(s\)"
        r" \[0, 1, 2, 3, 4\] of the period; use a shorter cycle or more train rows$",
    ),
    Case(
        "stamps with and without offsets",
        "train --data {d}/offsets_and_none.csv",
        r"{d}/offsets_and_none\.csv: column 'timestamp' mixes stamps with a UTC offset \(e\.g\. '2024-01-01"
        r" 00:00:00\+00:00'\) and stamps without one \(row 12\); write every stamp with its offset, or none$",
    ),
    Case(
        "unknown time zone",
        "train --data {d}/good.csv --set data.timezone=Europe/Berln",
        r"invalid config: data\.timezone: unknown time zone 'Europe/Berln'; use an IANA name",
    ),
    Case(
        "too few rows",
        "train --data {d}/few_rows.csv",
        r"{d}/few_rows\.csv: too few rows \(60\) for lookback 48 \+ horizon 12",
    ),
    Case(
        "constant target",
        "train --data {d}/constant_target.csv",
        r"{d}/constant_target\.csv: target column 'y' is constant \(5\) in the train rows 1-840",
    ),
    Case(
        "lookback 0",
        "train --data {d}/good.csv --lookback 0",
        r"window\.lookback: Input should be greater",
    ),
    Case(
        "absurd horizon",
        "train --data {d}/good.csv --horizon 1000000",
        r"window\.horizon: Input should be less than or equal to 10000",
    ),
    Case(
        "invalid config value",
        "train --data {d}/good.csv --set train.lr=-1",
        r"invalid config: train\.lr: Input should be greater than 0 \(got -1\)",
    ),
    Case(
        "cycle the train rows cannot fill",
        "train --data {d}/good.csv --set scaler.cycle=5000",
        r"{d}/good\.csv: scaler\.cycle=5000: the train rows miss phase\(s\) \[\d+, .*\] of the period;"
        r" use a shorter cycle or more train rows",
    ),
    Case(
        "stamps off the frequency's grid",
        "train --data {d}/off_grid.csv",
        r"{d}/off_grid\.csv: the stamps fit no frequency: most steps are hours \(h\), but row 301"
        r" \(2024-01-13 12:30:00\) are not on that grid; fix or drop those rows, or resample the data",
    ),
    Case(
        "invalid max_gap",
        "train --data {d}/good.csv --set data.max_gap=0.5",
        r"invalid config: data\.max_gap: Input should be greater than or equal to 1",
    ),
    Case("unknown config key", "train --set model.size=3", r"unknown config key 'model\.size'"),
    Case(
        "interval levels not increasing",
        "train --data {d}/good.csv --set intervals.levels=[95,80]",
        r"invalid config: intervals\.levels: levels must increase without repeats, e\.g\. \[80, 95\]; \[\]"
        r" turns intervals off \(got \[95, 80\]\)",
    ),
    Case(
        "interval level of 100",
        "train --data {d}/good.csv --set intervals.levels=[80,100]",
        r"invalid config: intervals\.levels: each level must lie strictly between 0 and 100",
    ),
    Case(
        "unknown interval method",
        "train --data {d}/good.csv --set intervals.method=cqr",
        r"invalid config: intervals\.method: Input should be 'split-conformal' or 'scaled-residuals'"
        r" \(got 'cqr'\)",
    ),
    Case(
        "unknown preset",
        "train --preset etth1-s5",
        r"--preset: unknown preset 'etth1-s5'; available: etth1-m96, etth1-s24, etth1-s96",
    ),
    Case(
        "segment length 0",
        "train --data {d}/good.csv --set model.patch_len=0",
        r"invalid config: model\.patch_len: Input should be greater than or equal to 1",
    ),
    Case(
        "channel independence with MS",
        "train --data {d}/good.csv --set model.channel_independent=true",
        r"invalid config: model\.channel_independent needs data\.setting S or M: with MS the features are"
        r" inputs only$",
    ),
    Case(
        "log ratios of values centred on 0",
        "train --data {d}/good.csv --set model.instance_norm=log_ratio",
        r"invalid config: model\.instance_norm log_ratio takes the log of each value over its window's mean,"
        r" so the values the network reads must stay positive: scaler\.kind standard centres them on 0; set"
        r" scaler\.kind mean$",
    ),
    Case(
        "a loss of logs on values centred on 0",
        "train --data {d}/good.csv --set train.loss=log_mae",
        r"invalid config: train\.loss log_mae compares the logs of forecasts and targets, so the values the"
        r" network reads must stay positive: scaler\.kind standard centres them on 0; set scaler\.kind mean$",
    ),
    Case(
        "many series: log ratios of a series that goes below 0",
        "train --data {d}/long_table.csv --series-column sensor --set model.instance_norm=log_ratio"
        " --set scaler.kind=mean",
        r"{d}/long_table\.csv: model\.instance_norm log_ratio needs values above 0: column 'x' of series"
        r" 'north' is -[0-9.]+ at 2024-\S+ \S+ \(\d+ at or below 0\); use robust or revin$",
    ),
    Case(
        "an ensemble member longer than the windows",
        "train --data {d}/good.csv --set model.ensemble=2 --set model.ensemble_lookbacks=[24,96]",
        r"invalid config: model\.ensemble_lookbacks holds 96, longer than window\.lookback 48: the windows"
        r" hold window\.lookback rows and a member reads their last rows; set window\.lookback to 96 or drop"
        r" the longer lookbacks$",
    ),
    Case(
        "unknown gate metric",
        "train --data {d}/good.csv --set registry.gate_metric=mae",
        r"invalid config: registry\.gate_metric: Input should be 'mse', 'mase' or 'owa' \(got 'mae'\)$",
    ),
    Case(
        "gate on OWA over backtest folds",
        "train --data {d}/good.csv --set registry.gate_metric=owa --set registry.gate=backtest",
        r"invalid config: registry\.gate_metric owa is scored on a single split: the backtest gate's folds"
        r" score mse or mase; use one of them, or registry\.gate single$",
    ),
    Case(
        "many series: gate on OWA without a season",
        "train --data {d}/long_table.csv --series-column sensor --set data.seasonal_period=1"
        " --set registry.gate_metric=owa",
        r"{d}/long_table\.csv: registry\.gate_metric owa needs a seasonal period above 1, not 1 \(OWA is"
        r" scored only where the data has a season\); set data\.seasonal_period above 1 or use mase$",
    ),
    Case("missing config file", "train --config {d}/none.yaml", r"--config {d}/none\.yaml: file not found"),
    Case(
        "config file not YAML",
        "train --config {d}/broken.yaml",
        r"--config {d}/broken\.yaml: not valid YAML or JSON",
    ),
    Case(
        "unknown model alias",
        "forecast --model models:/bilstm-forecaster@nope --data {d}/good.csv --output {d}/f1.csv",
        r"models:/bilstm-forecaster@nope: .*nope.*; see the Models page",
    ),
    Case(
        "unknown model name",
        "forecast --model models:/no-such-model@champion --data {d}/good.csv --output {d}/f2.csv",
        r"models:/no-such-model@champion: .*no-such-model.*; see the Models page",
    ),
    Case(
        "history lacks a column",
        "forecast --data {d}/no_target.csv --output {d}/f3.csv",
        r"{d}/no_target\.csv: column 'y' not found; available: timestamp, x; the model was trained on"
        r" columns x, y: pass a history with them$",
    ),
    Case(
        "history with other columns",
        "forecast --data {d}/renamed_columns.csv --output {d}/f4.csv",
        r"{d}/renamed_columns\.csv: column 'x' not found; available: timestamp, temperature, y",
    ),
    Case(
        "history shorter than lookback",
        "forecast --data {d}/short_history.csv --output {d}/f5.csv",
        r"{d}/short_history\.csv: the history has 20 rows; the model needs the last 48: pass a longer",
        FORECAST,
    ),
    Case(
        "history at another frequency",
        "forecast --data {d}/daily.csv --output {d}/f11.csv",
        r"{d}/daily\.csv: the data steps by days \(D\), the model by hours \(h\); pass data at the model's"
        r" frequency$",
    ),
    Case(
        "history with UTC offsets for a model of stamps without",
        "forecast --data {d}/zoned.csv --output {d}/f13.csv",
        r"{d}/zoned\.csv: the stamps in 'timestamp' carry UTC offsets \(e\.g\. '[-\d]+ 00:00:00\+08:00'\),"
        r" the model was trained on stamps without a zone; pass them without offsets, as local times$",
    ),
    Case(
        "history URL with a password (masked)",
        "forecast --data s3://reader:hunter2@127.0.0.1/history.xlsx --output {d}/f12.csv",
        r"^s3://reader:\*\*\*@127\.0\.0\.1/history\.xlsx: unsupported format",
    ),
    Case(
        "history file missing",
        "forecast --data {d}/nowhere.csv --output {d}/f10.csv",
        r"{d}/nowhere\.csv: file not found; pass an existing CSV or Parquet file",
    ),
    Case(
        "output folder missing",
        "forecast --data {d}/good.csv --output {d}/no/f6.csv",
        r"{d}/no/f6\.csv: folder {d}/no does not exist; create it or choose another output",
    ),
    Case(
        "output format unsupported",
        "forecast --data {d}/good.csv --output {d}/f7.xlsx",
        r"{d}/f7\.xlsx: unsupported output format; use a \.csv or \.parquet file name",
    ),
    Case(
        "output that is a folder",
        "forecast --data {d}/good.csv --output {d}/folder.csv",
        r"{d}/folder\.csv: is a folder; name a file in it, e.g\. {d}/folder\.csv/output\.csv$",
    ),
    Case(
        "plot folder missing",
        "forecast --data {d}/good.csv --output {d}/f8.csv --plot {d}/no/plot.png",
        r"{d}/no/plot\.png: folder {d}/no does not exist; create it or choose another plot",
    ),
    Case(
        "plot format unsupported",
        "forecast --data {d}/good.csv --output {d}/f9.csv --plot {d}/plot.jpg",
        r"{d}/plot\.jpg: unsupported plot format; use a \.png, \.svg or \.pdf file name",
    ),
    Case(
        "backtest without folds",
        "backtest --data {d}/good.csv --folds 0",
        r"--folds 0: .*greater than or equal to 1",
    ),
    Case(
        "backtest with more folds than fit",
        "backtest --data {d}/good.csv --folds 50",
        r"{d}/good\.csv: 50 folds do not fit: its 1200 rows hold at most \d+; use --folds \d+, or a shorter"
        r" --step",
    ),
    Case(
        "a CUDA device this machine does not have",
        "train --data {d}/good.csv --set train.device=cuda:99",
        r"^train\.device='cuda:99' but (CUDA is not available here|this machine has \d+ GPU\(s\))",
    ),
    Case(
        "backtest with an unknown refit",
        "backtest --data {d}/good.csv --refit sometimes",
        r"--refit 'sometimes': must be 'every', 'once' or a whole number K >= 1",
    ),
    Case(
        "backtest on an unreachable Dask scheduler",
        "backtest --data {d}/good.csv --dask-address tcp://127.0.0.1:9",
        r"--dask-address tcp://127\.0\.0\.1:9: no Dask scheduler answered .*; start one with `dask",
    ),
    Case(
        "unsorted history (sorted, warns)",
        "forecast --data {d}/unsorted.csv --output {d}/unsorted-forecast.csv",
        r"^{d}/unsorted\.csv: timestamps were not sorted; sorted them by 'timestamp'$",
        warns=True,
    ),
    Case(
        "too few validation windows for the 95 % band (widened, warns)",
        "train --data {d}/good.csv --epochs 1 --set data.train_fraction=0.8 --set data.test_fraction=0.18"
        " --set registry.model_name=bilstm-few-windows --json",
        r"^the 95 % band needs at least 19 validation windows per horizon step, this run has 13: it is the"
        r" largest validation residual times 1\.09 \(normal quantile ratios\), without conformal's coverage"
        r" guarantee; lengthen the validation split or lower intervals\.levels$",
        warns=True,
    ),
    Case(
        "monitor data without the model's columns",
        "monitor --data {d}/no_target.csv",
        r"{d}/no_target\.csv: column 'y' not found; available: timestamp, x; the model was trained on columns"
        r" x, y: pass data with them$",
    ),
    Case(
        "monitor data at another frequency",
        "monitor --data {d}/daily.csv",
        r"{d}/daily\.csv: the data steps by days \(D\), the model by hours \(h\); pass data at the model's"
        r" frequency$",
    ),
    Case(
        "monitor data with UTC offsets for a model of stamps without",
        "monitor --data {d}/zoned.csv",
        r"{d}/zoned\.csv: the stamps in 'timestamp' carry UTC offsets .*; pass them without offsets, as local"
        r" times$",
    ),
    Case(
        "monitor data shorter than lookback + horizon",
        "monitor --data {d}/short_history.csv",
        r"{d}/short_history\.csv: 20 rows; the model needs lookback 48 \+ horizon 12 = 60 rows to score one"
        r" window: pass a longer history$",
        MONITOR,
    ),
    Case(
        "monitor a model without a champion",
        "monitor --model models:/bilstm-no-champion@champion --data {d}/good.csv",
        r"models:/bilstm-no-champion@champion: bilstm-no-champion has no champion yet \(no version has the"
        r" alias 'champion'\); train one with `bilstm train --set registry\.model_name=bilstm-no-champion`",
    ),
    Case(
        "monitor data without the series column of a model of many series",
        "monitor --model models:/bilstm-many@champion --data {d}/good.csv",
        r"{d}/good\.csv: series column 'sensor' not found; available: timestamp, x, y; the model reads its"
        r" series column 'sensor': pass data with it$",
    ),
    Case(
        "monitor window larger than the data",
        "monitor --data {d}/good.csv --window 5000",
        r"--window 5000: larger than the 1200 rows of {d}/good\.csv; pass --window 1200 or less$",
    ),
    Case(
        "promote of a missing version",
        "promote --model bilstm-forecaster --version 99",
        r"--version 99: bilstm-forecaster has no such version; its versions: 1$",
    ),
    Case(
        "rollback without a previous champion",
        "rollback --model bilstm-forecaster",
        r"--model bilstm-forecaster: no previous-champion to roll back to; make a version champion with"
        r" `bilstm promote --model bilstm-forecaster --version N`$",
    ),
    Case(
        "promote in an unknown model",
        "promote --model no-such-model --version 1",
        # the store holds other cases' models too: the one that exists is among those named
        r"--model no-such-model: no such registered model; registered models: (.*, )?bilstm-forecaster\b",
    ),
    Case(
        "many series: backtest folds that do not fit the shortest series",
        "backtest --data {d}/long_table_folds_short.csv --series-column sensor --folds 3",
        r"{d}/long_table_folds_short\.csv: 3 folds do not fit series 'south' \(file rows 1201-1300\): its 100"
        r" rows hold at most 2; use --folds 2, or a shorter --step, or pass --skip-short to leave such series"
        r" out \(",
    ),
    Case(
        "many series: sweep folds that do not fit the shortest series",
        "sweep --data {d}/long_table_folds_short.csv --series-column sensor --space {d}/space_lr.yaml",
        r"{d}/long_table_folds_short\.csv: 2 folds do not fit series 'south' \(file rows 1201-1300\): its 88"
        r" rows before the test split hold at most 1; use --folds 1, or pass --skip-short to leave such"
        r" series out",
    ),
    Case(
        "sweep space with an unknown field",
        "sweep --data {d}/good.csv --space {d}/space_unknown_field.yaml",
        r"{d}/space_unknown_field\.yaml: 'model\.hiden_size' is not a config field; did you mean"
        r" model\.hidden_size\? the fields of model: cell, hidden_size, ",
    ),
    Case(
        "sweep space with an empty range",
        "sweep --data {d}/good.csv --space {d}/space_empty_range.yaml",
        r"{d}/space_empty_range\.yaml: train\.lr: the range is empty \(low 0\.01 is not below high 0\.001\)$",
    ),
    Case(
        "sweep space with step 0",
        "sweep --data {d}/good.csv --space {d}/space_step_zero.yaml",
        r"{d}/space_step_zero\.yaml: model\.dropout: step must be a number above 0, got 0; leave it out for"
        r" any value$",
    ),
    Case(
        "sweep space with an infinite bound",
        "sweep --data {d}/good.csv --space {d}/space_infinite.yaml",
        r"{d}/space_infinite\.yaml: train\.lr: low and high must be finite numbers, got 0\.0001 and inf$",
    ),
    Case(
        "infinite learning rate",
        "train --data {d}/good.csv --set train.lr=inf",
        r"invalid config: train\.lr: Input should be a finite number \(got 'inf'\)$",
    ),
    Case(
        "model name MLflow cannot register",
        "train --data {d}/good.csv --set registry.model_name=team/forecaster",
        r"invalid config: registry\.model_name: MLflow cannot register a model under this name: it must not"
        r" be blank, hold / : or %, be '\.' or start with '\.\.'; e\.g\. bilstm-forecaster \(got"
        r" 'team/forecaster'\)$",
    ),
    Case(
        "nonnegative neither auto nor a boolean",
        "train --data {d}/good.csv --set data.nonnegative=maybe",
        r"data\.nonnegative: Input should be 'auto', True or False \(got 'maybe'\)$",
    ),
    Case(
        "sweep without trials",
        "sweep --data {d}/good.csv --trials 0",
        r"--trials 0: Input should be greater than or equal to 1$",
    ),
    Case(
        "a future column missing from the training file",
        "train --data {d}/good.csv --future wind",
        r"{d}/good\.csv: column 'wind' not found; available: timestamp, x, y; the training file holds a"
        r" future column's past values too: add it, or drop it from --future$",
    ),
    Case(
        "a column that is both a target and a future column",
        "train --data {d}/good.csv --future y",
        r"invalid config: data: column 'y' is in data\.future and data\.targets: a column has one role",
    ),
    Case(
        "a holiday calendar of an unknown country",
        "train --data {d}/good.csv --calendar holiday:XX",
        r"data\.calendar: holiday:XX: XX is not a country code the holidays package knows",
    ),
    Case(
        "a calendar feature constant at the data's step",
        "train --data {d}/daily.csv --calendar hour",
        r"calendar feature hour is constant on steps of days \(D\): drop it from data\.calendar$",
    ),
    Case(
        "a static column that varies within a series",
        "train --data {d}/long_table_static.csv --series-column sensor --static region",
        r"{d}/long_table_static\.csv: column 'region' varies within series 'south' \(file rows 1201 and 1211:"
        r" 'coast', 'delta'\); a static column holds one value per series$",
    ),
    Case(
        "a column that is both a target and a static column",
        "train --data {d}/good.csv --static y",
        r"invalid config: data: column 'y' is in data\.static and data\.targets: a column has one role",
    ),
]
