"""The ``<id:...>`` URL converter: a database id, 1 to 2**31 - 1. Its pattern matches nothing else, so a
path with 0, a leading zero, a sign or a number past the column's range is a 404 from the router (never a
405 from a sibling rule, nor an overflow in the database)."""

from __future__ import annotations

from werkzeug.routing import BaseConverter

#: 1 .. 2147483647 written out digit by digit
ID_PATTERN = (
    r"(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])"
)


class IdConverter(BaseConverter):
    regex = ID_PATTERN
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


def install(app) -> None:
    app.url_map.converters["id"] = IdConverter
