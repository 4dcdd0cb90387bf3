"""A training run's config as it is recorded so that the job can be trained again later, by another process
in another directory (the retrain that a degradation triggers): a relative local data path made absolute,
and, for runs recorded before the config was kept whole, the config rebuilt from its flattened params.
"""

from __future__ import annotations

import ast
from pathlib import Path

from bilstm.config import PipelineConfig, flatten, with_overrides


def for_the_record(config: PipelineConfig) -> PipelineConfig:
    """`config` with a relative local `data.path` made absolute against the working directory, so that a
    process started elsewhere reads the same file; URIs, absolute paths and the built-in data set stay."""
    path = config.data.path
    if path is None or "://" in path or Path(path).is_absolute():
        return config
    return with_overrides(config, {"data.path": str(Path(path).resolve())})


def from_params(params: dict[str, str]) -> PipelineConfig:
    """The config of a run from its MLflow params (`flatten`'s keys, each value as `str()` wrote it); keys
    the run did not log keep their defaults, params that are not config keys are ignored.

    Raises:
        ValueError: a logged value the config does not accept (pydantic's `ValidationError`).
    """
    defaults = flatten(PipelineConfig())
    return with_overrides(
        PipelineConfig(),
        {key: _value(params[key], defaults[key]) for key in defaults if key in params},
    )


def _value(text: str, default: object) -> object:
    if text == "None":
        return None
    if isinstance(default, str):  # a name, path or choice: "123" stays text
        return text
    try:
        return ast.literal_eval(text)  # numbers, booleans, lists as str() wrote them
    except (ValueError, SyntaxError):
        return text  # a path or a zone of a field whose default is None
