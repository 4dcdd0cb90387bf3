"""Short lists inside error messages: the first few rows, names or a sample value, then how many more, so
no message dumps a table or runs past a line (the CLI prints it as one line of about 300 characters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SHOWN_ROWS = 5
SHOWN_NAMES = 8
SHOWN_CHARS = 40


def rows(mask: np.ndarray | pd.Series, shown: int = SHOWN_ROWS) -> str:
    """'rows 3, 8, 9 (and 12 more)' for a boolean mask over data rows (1-based, header excluded)."""
    where = np.flatnonzero(np.asarray(mask)) + 1
    listed = ", ".join(str(i) for i in where[:shown])
    more = f" (and {len(where) - shown} more)" if len(where) > shown else ""
    return f"row{'s' if len(where) > 1 else ''} {listed}{more}"


def names(items, shown: int = SHOWN_NAMES) -> str:
    """'a, b, c (and 40 more)': the first `shown` names, each cut to a readable length."""
    items = [clip(str(item)) for item in items]
    more = f" (and {len(items) - shown} more)" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text`, cut with an ellipsis past `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sample(value) -> str:
    """A cell's repr for 'e.g. ...', cut to a readable length."""
    return clip(repr(value))
