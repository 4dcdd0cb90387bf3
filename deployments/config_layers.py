"""A `PipelineConfig` from its layers, later ones winning: defaults, a shipped preset, a YAML or JSON config
file, the command's named options, and `--set dotted.key=value` items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bilstm.config import PipelineConfig, with_overrides
from bilstm.errors import BadInputError
from bilstm.presets import UnknownPresetError, load_preset


class ConfigError(BadInputError):
    """A config file, a --set or an option cannot be applied."""


def _parse_set(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {item!r}: expected dotted.key=value, e.g. --set train.lr=0.001")
    return key.strip(), yaml.safe_load(raw) if raw.strip() else None


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`update`'s keys over `base`'s, section by section."""
    merged = dict(base)
    for key, value in update.items():
        both_sections = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merge(base[key], value) if both_sections else value
    return merged


def build_config(
    config_file: Path | None, options: dict[str, Any], sets: list[str], preset: str | None = None
) -> PipelineConfig:
    """Defaults < preset < config file < named options < --set, validated at the end."""
    tree: dict[str, Any] = {}
    if preset is not None:
        try:
            tree = load_preset(preset)
        except UnknownPresetError as error:
            raise ConfigError(f"--preset: {error}") from error
    if config_file is not None:
        if not config_file.exists():
            raise ConfigError(f"--config {config_file}: file not found")
        try:
            loaded = yaml.safe_load(config_file.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"--config {config_file}: not valid YAML or JSON ({error})") from error
        if not isinstance(loaded, dict):
            raise ConfigError(f"--config {config_file}: expected a mapping of sections (data, model, ...)")
        tree = _merge(tree, loaded)
    config = PipelineConfig.model_validate(tree)
    overrides = {key: value for key, value in options.items() if value is not None}
    overrides.update(_parse_set(item) for item in sets)
    try:
        return with_overrides(config, overrides)
    except ValidationError:
        raise
    except ValueError as error:
        raise ConfigError(str(error)) from error
