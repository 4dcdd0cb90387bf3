"""How a CSV file separates its fields and writes its decimals: `,` and `.` in most files, `;` and `,` in many
that European utilities and ERPs export, tabs in others. Settings given (`data.csv`) win; what is left is
sniffed from the file's first lines, then the whole file is read by pandas' fast C parser with that dialect.
"""

from __future__ import annotations

import csv
import gzip
import re

import pandas as pd

from bilstm.config import CsvConfig

SEPARATORS = ",;\t|"  # the ones sniffed; any other one character can be given
SAMPLE_LINES = 50
SAMPLE_CHARS = 65_536  # a cap for files whose lines are very long
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_DECIMAL_POINT = re.compile(r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?")


def read_csv(source: str, settings: CsvConfig) -> pd.DataFrame:
    """The table of a CSV path or URI, with `settings`' separator and decimal mark, sniffing those not set."""
    sep, decimal = settings.sep, settings.decimal
    if sep is None or (decimal is None and sep != ","):
        lines = sample_lines(source)
        sep = sep or sniff_separator(lines)
        decimal = decimal or sniff_decimal(lines, sep)
    return pd.read_csv(source, sep=sep, decimal=decimal or ".")


def sample_lines(source: str) -> list[str]:
    """The file's first non-empty lines as text (bytes that do not decode are replaced: the full read
    names the problem)."""
    if "://" in source and not source.lower().startswith("file://"):
        import fsspec  # what pandas reads URIs with, so it is there whenever a URI can be read

        opened = fsspec.open(source, "rt", compression="infer", encoding="utf-8-sig", errors="replace")
    else:
        path = source.removeprefix("file://")
        open_text = gzip.open if path.lower().endswith(".gz") else open
        opened = open_text(path, "rt", encoding="utf-8-sig", errors="replace")
    with opened as file:
        text = file.read(SAMPLE_CHARS)
    lines = text.splitlines()
    if len(text) == SAMPLE_CHARS and len(lines) > 1:
        lines = lines[:-1]  # cut off mid-line
    return [line for line in lines if line.strip()][:SAMPLE_LINES]


def sniff_separator(lines: list[str]) -> str:
    """The separator of `SEPARATORS` that splits the sample's lines consistently (`csv.Sniffer`); where
    none does, the one that splits the header into the most fields (`,` on a tie)."""
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=SEPARATORS).delimiter
    except csv.Error:  # one column, ragged rows or unreadable bytes: the header decides
        header = lines[0] if lines else ""
        return max(SEPARATORS, key=lambda sep: len(_fields(header, sep)))


def sniff_decimal(lines: list[str], sep: str) -> str:
    """',' where more of the sample's cells read like 12,5 than like 12.5 (only with a separator other than
    ','), else '.'."""
    if sep == ",":
        return "."
    cells = [cell.strip() for line in lines[1:] for cell in _fields(line, sep)]
    commas = sum(bool(_DECIMAL_COMMA.fullmatch(cell)) for cell in cells)
    points = sum(bool(_DECIMAL_POINT.fullmatch(cell)) for cell in cells)
    return "," if commas > points else "."


def separator_hint(columns: pd.Index) -> str:
    """For a table read as one column whose name holds another separator (a wrong `--sep`): the fix, as
    '; the file seems to use ';' as separator: pass --sep ';''; else ''."""
    if len(columns) != 1:
        return ""
    found = [sep for sep in SEPARATORS if sep in str(columns[0])]
    if not found:
        return ""
    return f"; the file seems to use {found[0]!r} as separator: pass --sep {found[0]!r}"


def decimal_hint(cell: object) -> str | None:
    """For a cell that reads like a decimal comma (12,5) in a column read as text: the fix; else None."""
    if isinstance(cell, str) and _DECIMAL_COMMA.fullmatch(cell.strip()):
        return "the file seems to write decimals with ',': pass --decimal ','"
    return None


def _fields(line: str, sep: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error:
        return [line]
