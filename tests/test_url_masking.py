"""A data URL's password or token never reaches a message: `masked_urls` and every `BadInputError`."""

import pytest

from bilstm.data import read_table
from bilstm.errors import DataValidationError
from bilstm.url_masking import masked_urls


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("s3://user:secret@host/x.csv: cannot be read", "s3://user:***@host/x.csv: cannot be read"),
        ("https://host/x.csv?token=abc&v=2: bad", "https://host/x.csv?token=***&v=2: bad"),
        ("(https://ghp_abc@github.com/x.csv)", "(https://***@github.com/x.csv)"),
        (
            "https://h/x?X-Amz-Signature=ab&X-Amz-Credential=k",
            "https://h/x?X-Amz-Signature=***&X-Amz-Credential=***",
        ),
        ("http://127.0.0.1:4200/api and data/x.csv", "http://127.0.0.1:4200/api and data/x.csv"),
    ],
)
def test_urls_in_a_message_lose_their_password_and_token(text, shown):
    assert masked_urls(text) == shown


def test_a_data_error_about_a_url_with_a_password_names_the_url_without_it():
    with pytest.raises(DataValidationError) as caught:
        read_table("s3://user:secret@host/x.xlsx")
    assert "secret" not in str(caught.value)
    assert str(caught.value).startswith("s3://user:***@host/x.xlsx: unsupported format")
