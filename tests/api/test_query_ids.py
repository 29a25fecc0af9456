"""A record id in the query string is what the document's ``integer`` says: ASCII digits, 7.0 as well as 7 (JSON
Schema counts 7.0 an integer); anything else is a 422 on that parameter, never a server error."""

from __future__ import annotations

import pytest

from medcover.api_input import int_arg
from medcover.errors import Invalid


@pytest.mark.parametrize(("raw", "read"), [("7", 7), ("7.0", 7), (" 42 ", 42), ("7.00", 7), ("", None)])
def test_a_whole_number_is_read(app, raw, read):
    with app.test_request_context(query_string={"claim_id": raw}):
        assert int_arg("claim_id") == read


@pytest.mark.parametrize("raw", ["7.5", "0", "-3", "2147483648", "\u00b2", "\u0663", "1e3", "seven"])
def test_anything_else_is_refused_on_the_parameter(app, raw):
    with app.test_request_context(query_string={"claim_id": raw}), pytest.raises(Invalid) as refused:
        int_arg("claim_id")
    assert set(refused.value.errors) == {"claim_id"}
