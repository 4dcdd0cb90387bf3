"""The wide M4 Hourly training file as the long table `bilstm` and NeuralForecast read: columns `unique_id`,
`ds`, `y`, sorted by (unique_id, ds).

The wide file (`../shared/data/m4/Hourly-train.csv`, see its README) has one row per series: `V1` the id
(`H1` ... `H414`), `V2` ... its values in time order, padded with empty cells after the series' end. M4 gave
no timestamps; every series gets hourly stamps from the same start, 2000-01-01 00:00. Ids sort as text
(H1, H10, H100, ...), as pandas and NeuralForecast sort them.

    python bench/m4_long.py                                    # -> bench/results/m4-hourly-long.csv
    python bench/m4_long.py --series 5 --out /tmp/m4-5.csv     # the first 5 series only
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

REPOSITORY = Path(__file__).resolve().parent.parent
SOURCE = REPOSITORY.parent / "shared" / "data" / "m4" / "Hourly-train.csv"
OUT = REPOSITORY / "bench" / "results" / "m4-hourly-long.csv"
START = pd.Timestamp("2000-01-01 00:00")


def long_table(wide: pd.DataFrame) -> pd.DataFrame:
    """(series, 1 + max length) wide rows -> (rows, 3) long table, the padding dropped."""
    ids = wide.columns[0]
    values = wide.melt(id_vars=ids, var_name="column", value_name="y").dropna(subset=["y"])
    # V2 is each series' first value: the column's number gives the row's position in its series
    position = values["column"].str[1:].astype(int) - 2
    table = pd.DataFrame(
        {
            "unique_id": values[ids].astype(str),
            "ds": START + pd.to_timedelta(position, unit="h"),
            "y": values["y"].astype(float),
        }
    )
    table = table.sort_values(["unique_id", "ds"], ignore_index=True)
    # padding only ever follows a series' end: an empty cell inside one would become a silent gap
    rows = table.groupby("unique_id")["ds"].agg(["size", "max"])
    gapped = rows.index[rows["size"] != (rows["max"] - START) // pd.Timedelta(hours=1) + 1]
    if len(gapped):
        raise ValueError(f"series {', '.join(gapped[:5])} have empty cells before their last value")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="the wide M4 file (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=OUT, help="the long CSV (default: %(default)s)")
    parser.add_argument("--series", type=int, default=None, help="only the first N series (tiny test files)")
    args = parser.parse_args()
    wide = pd.read_csv(args.source, nrows=args.series)
    table = long_table(wide)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, date_format="%Y-%m-%d %H:%M:%S")
    print(f"{len(table)} rows of {table['unique_id'].nunique()} series written to {args.out}")


if __name__ == "__main__":
    main()
