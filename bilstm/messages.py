"""Short lists inside error messages: the first few rows, names or a sample value, then how many more, so
no message dumps a table or runs past a line (the CLI prints it as one line of about 300 characters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SHOWN_ROWS = 5
SHOWN_NAMES = 8
SHOWN_WIDTH = 120  # characters of a list of names
SHOWN_CHARS = 40  # of one name or value


def rows(mask: np.ndarray | pd.Series, shown: int = SHOWN_ROWS) -> str:
    """'rows 3, 8, 9 (and 12 more)' for a boolean mask over data rows (1-based, header excluded)."""
    where = np.flatnonzero(np.asarray(mask)) + 1
    listed = ", ".join(str(i) for i in where[:shown])
    more = f" (and {len(where) - shown} more)" if len(where) > shown else ""
    return f"row{'s' if len(where) > 1 else ''} {listed}{more}"


def in_series(ids: pd.Series | None, mask: np.ndarray | pd.Series) -> str:
    """' (series 'south')': the series of the rows `mask` marks in a long table (`ids`: each row's series id),
    so a message's file rows say whose they are; '' for a file of one series (`ids` None)."""
    if ids is None:
        return ""
    return f" (series {names([sample(i) for i in pd.unique(ids[np.asarray(mask)])])})"


def names(items, shown: int = SHOWN_NAMES, width: int = SHOWN_WIDTH) -> str:
    """'a, b, c (and 40 more)': the first names, at most `shown` of them and about `width` characters."""
    items = [clip(str(item)) for item in items]
    listed = items[:1]
    for item in items[1:shown]:
        if sum(len(i) + 2 for i in listed) + len(item) > width:
            break
        listed.append(item)
    more = f" (and {len(items) - len(listed)} more)" if len(items) > len(listed) else ""
    return ", ".join(listed) + more


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text`, its middle cut to an ellipsis past `limit` characters (names often differ at the end)."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[-(limit - 1 - head) :]


def sample(value) -> str:
    """A cell's repr for 'e.g. ...', cut to a readable length."""
    return clip(repr(value))
