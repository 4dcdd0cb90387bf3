"""The options that say what to train and on which data, shared by `bilstm train`, `backtest` and `sweep`:
defined once, as the fields of `JobOptions`, and handed to each command as one value by `with_job_options`,
which lists them in the command's signature, before its own options, for typer to read.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from bilstm.config import PipelineConfig
from bilstm.presets import preset_names
from deployments.config_layers import build_config

SepOption = Annotated[
    str | None,
    typer.Option("--sep", help="CSV field separator: , ; | or '\\t' (tab) [default: sniffed from the file]"),
]
DecimalOption = Annotated[
    str | None,
    typer.Option("--decimal", help="CSV decimal mark, . or , [default: , in files like 12,5 not split by ,]"),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks")]


@dataclass(frozen=True)
class JobOptions:
    """The shared options as given (None: not given), in the order `--help` lists them."""

    data: Annotated[
        str | None, typer.Option("--data", help="CSV/Parquet path or fsspec URI [default: built-in ETTh1]")
    ] = None
    target: Annotated[
        str | None, typer.Option("--target", help="Target column(s), comma-separated [default: OT]")
    ] = None
    features: Annotated[
        str | None, typer.Option("--features", help="Feature columns, comma-separated [default: all others]")
    ] = None
    future: Annotated[
        str | None,
        typer.Option(
            "--future",
            help="Columns known in advance, comma-separated: their values over the horizon are given to"
            " forecasts (--future-data)",
        ),
    ] = None
    calendar: Annotated[
        str | None,
        typer.Option(
            "--calendar",
            help="Calendar features of the stamps, comma-separated: hour, dayofweek, dayofmonth, weekofyear,"
            " month, quarter, dayofyear, minute, holiday:<country> (e.g. holiday:DE)",
        ),
    ] = None
    static: Annotated[
        str | None,
        typer.Option(
            "--static",
            help="Columns holding an attribute of each series (constant within it), comma-separated:"
            " numeric ones scaled, others learned as categories",
        ),
    ] = None
    time_column: Annotated[
        str | None, typer.Option("--time-column", help="Timestamp column [default: date]")
    ] = None
    sep: SepOption = None
    decimal: DecimalOption = None
    series_column: Annotated[
        str | None,
        typer.Option(
            "--series-column", help="Column telling the series of a long table apart [default: one series]"
        ),
    ] = None
    skip_short: Annotated[
        bool | None,
        typer.Option(
            "--skip-short",
            help="Many series: leave out series too short for the split (or the folds), with a warning",
        ),
    ] = None
    lookback: Annotated[
        int | None,
        typer.Option("--lookback", help="Input window length [default: from the data: 336 for hourly]"),
    ] = None
    horizon: Annotated[int | None, typer.Option("--horizon", help="Steps to forecast [default: 24]")] = None
    epochs: Annotated[int | None, typer.Option("--epochs", help="Maximum epochs")] = None
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Training batch size")] = None
    preset: Annotated[
        str | None, typer.Option("--preset", help=f"Shipped configuration: {', '.join(preset_names())}")
    ] = None
    config_file: Annotated[Path | None, typer.Option("--config", help="YAML or JSON config file")] = None
    set_: Annotated[list[str] | None, typer.Option("--set", help="dotted.key=value, repeatable")] = None

    def build(self) -> PipelineConfig:
        """The config in layers, later ones winning: defaults, --preset, --config, the options, --set."""
        return build_config(self.config_file, self._settings(), self.set_ or [], self.preset)

    def _settings(self) -> dict[str, Any]:
        """The config keys the options set (None: not given)."""
        return {
            "data.path": self.data,
            "data.targets": _columns(self.target),
            "data.features": _columns(self.features),
            "data.future": _columns(self.future),
            "data.calendar": _columns(self.calendar),
            "data.static": _columns(self.static),
            "data.time_column": self.time_column,
            "data.csv.sep": self.sep,
            "data.csv.decimal": self.decimal,
            "data.series_column": self.series_column,
            "data.skip_short": self.skip_short,
            "window.lookback": self.lookback,
            "window.horizon": self.horizon,
            "train.epochs": self.epochs,
            "train.batch_size": self.batch_size,
        }


def _columns(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def with_job_options(command: Callable[..., None]) -> Callable[..., None]:
    """`command(job: JobOptions, **own)` as a typer command: the shared options first, then its own."""
    hints = get_type_hints(JobOptions, include_extras=True)
    shared = [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
        for f in fields(JobOptions)
    ]
    own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]  # after `job`

    @functools.wraps(command)
    def run(**given: Any) -> None:
        command(JobOptions(**{p.name: given.pop(p.name) for p in shared}), **given)

    # typer reads the parameters from the signature and their types from the annotations
    run.__signature__ = inspect.Signature([*shared, *(p.replace(kind=p.KEYWORD_ONLY) for p in own)])
    run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()}
    return run
