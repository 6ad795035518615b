"""Moments in the regulator API are RFC 3339 strings with an offset; numbers and bare dates are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from spotcheck.gateway.web.timestamps import RequestTimestamp, decode_timestamp, is_request_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-14T23:59:00+08:00", datetime(2026, 12, 14, 23, 59, tzinfo=timezone(timedelta(hours=8)))),
        ("2026-12-14T15:59:00Z", datetime(2026, 12, 14, 15, 59, tzinfo=UTC)),
        ("2026-12-14T15:59:00.123456+00:00", datetime(2026, 12, 14, 15, 59, 0, 123456, tzinfo=UTC)),
    ],
)
def test_rfc3339_strings_with_an_offset_are_read(text: str, expected: datetime) -> None:
    moment = decode_timestamp(RequestTimestamp, text)
    assert isinstance(moment, RequestTimestamp)
    assert moment == expected
    assert moment.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("value", [0, 0.5, 1765728000, True, None, ["2026-12-14T23:59:00+08:00"]])
def test_anything_but_a_string_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="RFC 3339"):
        decode_timestamp(RequestTimestamp, value)


@pytest.mark.parametrize("text", ["0.5", "2026-12-14", "2026-12-14T23:59:00", "14/12/2026 23:59", "", "now"])
def test_strings_that_are_not_rfc3339_date_times_with_an_offset_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        decode_timestamp(RequestTimestamp, text)


def test_only_the_request_type_is_decoded_this_way() -> None:
    assert is_request_timestamp(RequestTimestamp)
    assert not is_request_timestamp(datetime)
