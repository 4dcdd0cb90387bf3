"""Named configurations that ship with the package: `bilstm train --preset etth1-s96`.

Each preset is a YAML file beside this module holding only the keys it changes from `PipelineConfig()`;
what each one scores is measured by `bench/accuracy.py` and shown in docs/reference/presets.md. A preset
names its own registered model, so a 96-step model never competes with the default 24-step champion.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from bilstm.errors import BadInputError


class UnknownPresetError(BadInputError):
    """No preset of that name ships with the package."""


def preset_names() -> list[str]:
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(".yaml")
    )


def load_preset(name: str) -> dict[str, Any]:
    """The preset's config sections as a nested mapping (`{"window": {"lookback": 336}, ...}`)."""
    if name not in preset_names():
        raise UnknownPresetError(f"unknown preset {name!r}; available: {', '.join(preset_names())}")
    return yaml.safe_load(resources.files(__name__).joinpath(f"{name}.yaml").read_text()) or {}
