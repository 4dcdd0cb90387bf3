"""CSV dialects: `;` with decimal commas, tabs and `|` are sniffed and read to the same values as `,`;
given settings (`data.csv`, `--sep` / `--decimal`) win; a wrong forced separator or decimal mark is named."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from bilstm.config import CsvConfig, DataConfig
from bilstm.data import DataValidationError, builtin_path, load_table, read_table
from tests.helpers import data_config, synthetic_frame


def written(tmp_path, frame: pd.DataFrame, name: str, **dialect) -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False, **dialect)
    return str(path)


@pytest.mark.parametrize(
    ("name", "dialect"),
    [
        ("semicolon.csv", {"sep": ";", "decimal": ","}),
        ("semicolon.csv.gz", {"sep": ";", "decimal": ","}),
        ("tabs.tsv", {"sep": "\t"}),
        ("pipes.txt", {"sep": "|"}),
    ],
)
def test_a_sniffed_dialect_loads_the_same_values_as_the_comma_file(tmp_path, name, dialect):
    frame = synthetic_frame(100)
    commas = load_table(data_config(written(tmp_path, frame, "commas.csv")))

    other = load_table(data_config(written(tmp_path, frame, name, **dialect)))

    np.testing.assert_array_equal(other.values, commas.values)
    assert (other.frame.index == commas.frame.index).all() and other.input_columns == ["x", "y"]


def test_a_long_table_with_semicolons_and_decimal_commas_loads_like_the_comma_one(tmp_path):
    frame = pd.concat([synthetic_frame(60).assign(site="a"), synthetic_frame(60, seed=1).assign(site="b")])
    config = {"series_column": "site", "split": "last"}
    commas = load_table(data_config(written(tmp_path, frame, "commas.csv"), **config))
    semicolons = load_table(data_config(written(tmp_path, frame, "eu.csv", sep=";", decimal=","), **config))
    np.testing.assert_array_equal(semicolons.values, commas.values)


def test_given_settings_win_over_sniffing(tmp_path):
    frame = synthetic_frame(50)
    path = written(tmp_path, frame, "eu.csv", sep=";", decimal=",")
    given = load_table(data_config(path, csv=CsvConfig(sep=";", decimal=",")))
    np.testing.assert_array_equal(given.values, frame[["x", "y"]].to_numpy())
    # a decimal mark that is not the file's leaves its numbers as text: the error names the fix
    with pytest.raises(DataValidationError, match=r"pass --decimal ','$"), pytest.warns(UserWarning):
        load_table(data_config(path, csv=CsvConfig(sep=";", decimal=".")))


def test_a_forced_separator_that_leaves_one_column_names_the_files_own(tmp_path):
    path = tmp_path / "temps.csv"
    path.write_text("Date;Temp\n2024-01-01 00:00;12,5\n2024-01-01 01:00;13,0\n")
    with pytest.raises(DataValidationError) as error:
        load_table(DataConfig(path=str(path), targets=["Temp"], csv=CsvConfig(sep=",")))
    assert str(error.value) == (
        f"{path}: time column 'date' not found; available: Date;Temp; the file seems to use ';' as"
        " separator: pass --sep ';'"
    )


def test_quoted_commas_in_a_comma_file_stay_inside_their_cells(tmp_path):
    frame = synthetic_frame(50).assign(note="north, upper")
    table = read_table(written(tmp_path, frame, "notes.csv"))
    assert list(table.columns) == ["timestamp", "x", "y", "note"]
    assert (table.note == "north, upper").all()
    np.testing.assert_array_equal(table[["x", "y"]].to_numpy(), frame[["x", "y"]].to_numpy())


def test_the_builtin_dataset_reads_as_pandas_reads_it():
    pd.testing.assert_frame_equal(read_table(builtin_path()), pd.read_csv(builtin_path()))


@pytest.mark.parametrize("tab", ["\t", "\\t", "tab"])
def test_a_tab_separator_may_be_written_as_a_shell_passes_it(tab):
    assert CsvConfig(sep=tab).sep == "\t"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"sep": ";;"}, r"the separator must be one character"),
        ({"sep": "a"}, r"the separator must be one character"),
        ({"decimal": "x"}, r"Input should be '\.' or ','"),
        ({"sep": ",", "decimal": ","}, r"sep and decimal are both ','"),
    ],
)
def test_csv_settings_refuse_what_no_file_can_use(settings, message):
    with pytest.raises(ValidationError, match=message):
        CsvConfig(**settings)
