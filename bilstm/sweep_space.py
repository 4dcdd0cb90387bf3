"""A sweep's search space: config fields mapped to a range (`low`, `high`, `log`, `step`) or a list of
`choices`, read from YAML and checked against the config's fields, and turned into an Optuna trial's
overrides. Optuna's own distributions do the sampling; this module only names and checks them.

A space file:

    train.lr: {low: 1.0e-4, high: 1.0e-2, log: true}
    model.hidden_size: {choices: [32, 64, 128]}
    model.dropout: {low: 0.0, high: 0.5}
    data.future: {choices: [[], [load_forecast], [load_forecast, wind_forecast]]}

A list field's choices are lists (Optuna's choices are plain values: they travel as comma-joined text).
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Any

import optuna
import yaml
from pydantic import ValidationError

from bilstm.config import PipelineConfig, flatten, with_overrides
from bilstm.errors import BadInputError

# lr, hidden_size, num_layers, patch_len, dropout, weight_decay and lookback: what moved the presets'
# figures when they were tuned by hand; the lookbacks are whole days of hourly data
DEFAULT_SPACE: dict[str, dict[str, Any]] = {
    "train.lr": {"low": 1e-4, "high": 1e-2, "log": True},
    "model.hidden_size": {"choices": [32, 64, 128]},
    "model.num_layers": {"low": 1, "high": 3},
    "model.patch_len": {"choices": [12, 24, 48]},
    "model.dropout": {"low": 0.0, "high": 0.5},
    "train.weight_decay": {"low": 1e-6, "high": 1e-2, "log": True},
    "window.lookback": {"choices": [96, 168, 336]},
}
RANGE_KEYS = {"low", "high", "log", "step"}


class SweepError(BadInputError):
    """A sweep that cannot run as asked: its search space, its trials or its study."""


class SearchSpace:
    """Config fields (dotted, `train.lr`) and Optuna distributions for them, checked on construction."""

    def __init__(self, fields: dict[str, dict[str, Any]], source: str = "the search space"):
        if not isinstance(fields, dict) or not fields:
            raise SweepError(f"{source}: no field to search; map config fields to a range or choices")
        self.source = source
        self.spec = fields
        self.distributions = {name: _distribution(name, spec, source) for name, spec in fields.items()}
        _check_values(self.distributions, source)

    @classmethod
    def default(cls) -> SearchSpace:
        return cls(DEFAULT_SPACE, "the default search space")

    @classmethod
    def from_file(cls, path: str | Path) -> SearchSpace:
        """The space in a YAML (or JSON) file; a `SweepError` naming the file if it cannot be read."""
        try:
            fields = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as error:
            raise SweepError(f"{path}: cannot read the search space ({error})") from None
        return cls(fields, str(path))

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """The trial's values, as config overrides (`{"train.lr": 0.003, ...}`)."""
        return {
            name: _decoded(name, _suggest(trial, name, dist)) for name, dist in self.distributions.items()
        }

    def starting_values(self, config: PipelineConfig) -> dict[str, Any]:
        """`config`'s own values of the space's fields, those the space holds (a value outside a field's
        range or choices is left for the sampler to draw)."""
        own = flatten(config)
        return {
            name: own[name] for name, dist in self.distributions.items() if _holds(dist, _encoded(own[name]))
        }

    def fingerprint(self) -> str:
        """The space as canonical JSON: a study resumed with another space is refused by comparing it."""
        return json.dumps(self.spec, sort_keys=True)


def _holds(dist: optuna.distributions.BaseDistribution, value: Any) -> bool:
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return value in dist.choices
    if not isinstance(value, int | float) or isinstance(value, bool) or not dist.low <= value <= dist.high:
        return False
    steps = None if dist.step is None else (value - dist.low) / dist.step
    on_step = steps is None or math.isclose(steps, round(steps), abs_tol=1e-9)
    return on_step and (isinstance(value, int) or not isinstance(dist, optuna.distributions.IntDistribution))


def _suggest(trial: optuna.Trial, name: str, dist: optuna.distributions.BaseDistribution) -> Any:
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def _distribution(name: str, spec: Any, source: str) -> optuna.distributions.BaseDistribution:
    """The Optuna distribution for one field's spec, or a `SweepError` naming the field."""
    fields = flatten(PipelineConfig())
    if name not in fields:
        section = name.split(".")[0] + "."
        known = [field.removeprefix(section) for field in fields if field.startswith(section)]
        listed = (
            f"the fields of {section[:-1]}: {', '.join(known)}"
            if known
            else ("the sections: " + ", ".join(dict.fromkeys(field.split(".")[0] for field in fields)))
        )
        near = difflib.get_close_matches(name, fields, n=1)
        hint = f"did you mean {near[0]}? " if near else ""
        raise SweepError(f"{source}: {name!r} is not a config field; {hint}{listed}")
    where = f"{source}: {name}"
    if not isinstance(spec, dict):
        raise SweepError(f"{where}: expected {{low: A, high: B}} or {{choices: [A, B, ...]}}, got {spec!r}")
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) != {"choices"} or not isinstance(choices, list) or not choices:
            raise SweepError(f"{where}: choices must be a non-empty list, and alone")
        return optuna.distributions.CategoricalDistribution([_encoded(choice) for choice in choices])
    if not {"low", "high"} <= set(spec) <= RANGE_KEYS:
        keys = sorted(spec)
        raise SweepError(f"{where}: a range needs low and high (and optionally log, step); got {keys}")
    low, high, log, step = spec["low"], spec["high"], bool(spec.get("log", False)), spec.get("step")
    if not all(_finite_number(v) for v in (low, high)):
        raise SweepError(f"{where}: low and high must be finite numbers, got {low!r} and {high!r}")
    if step is not None and not (_finite_number(step) and step > 0):
        raise SweepError(f"{where}: step must be a number above 0, got {step!r}; leave it out for any value")
    if not low < high:
        raise SweepError(f"{where}: the range is empty (low {low} is not below high {high})")
    if log and low <= 0:
        raise SweepError(f"{where}: a log range needs low > 0, got {low}")
    if isinstance(low, int) and isinstance(high, int) and (step is None or isinstance(step, int)):
        return optuna.distributions.IntDistribution(low, high, log=log, step=step or 1)
    return optuna.distributions.FloatDistribution(low, high, log=log, step=step)


def _encoded(value: Any) -> Any:
    """A list choice as the text Optuna keeps (`[a, b]` -> 'a,b'); other values as they are."""
    return ",".join(str(item) for item in value) if isinstance(value, list) else value


def _decoded(name: str, value: Any) -> Any:
    """The config value of a choice: a list field's text back to its list ('' -> [])."""
    if isinstance(flatten(PipelineConfig()).get(name), list) and isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _reason(error: ValueError) -> str:
    """The why of a refused value in a few words: pydantic's text ends in a link, its first problem is it."""
    if isinstance(error, ValidationError):
        return error.errors()[0]["msg"].removeprefix("Value error, ")
    return str(error).splitlines()[-1].strip() if str(error) else type(error).__name__


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_values(distributions: dict[str, optuna.distributions.BaseDistribution], source: str) -> None:
    """Each field's extreme values (or every choice) set alone on the default config: a value the config
    refuses (a negative dropout, a text for a number) is named here, not in the first trial."""
    for name, dist in distributions.items():
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            values = list(dist.choices)
        else:
            values = [dist.low, dist.high]
        for value in values:
            try:
                with_overrides(PipelineConfig(), {name: _decoded(name, value)})
            except ValueError as error:
                reason = _reason(error)
                raise SweepError(f"{source}: {name} = {value!r} is not a valid value ({reason})") from None
