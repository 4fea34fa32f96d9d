"""Argument checks of the public API: each accepts exactly what it documents and names the argument."""

import pytest

from kaltura_web.core import validation as v


def test_text_accepts_encodable_strings_and_refuses_the_rest():
    """None when optional, a str that encodes as UTF-8; blank only when allowed."""
    assert v.text(None, "page_name") is None
    assert v.text("héllo ✓", "page_name") == "héllo ✓"
    assert v.text("", "page_name") == ""
    with pytest.raises(TypeError, match="page_name must be a string, got int"):
        v.text(5, "page_name")
    with pytest.raises(TypeError, match="entry_id"):
        v.text(None, "entry_id", optional=False)
    with pytest.raises(ValueError, match="entry_id must be a non-empty string"):
        v.text("  ", "entry_id", blank=False)
    with pytest.raises(ValueError, match="referrer cannot be encoded as UTF-8"):
        v.text("page-\udcff", "referrer")


def test_identifier_takes_ints_and_ascii_digit_strings_in_the_int32_range():
    """1..2**31-1 as int or digits; bools, zero, negatives, 2**31, fullwidth digits and long strings fail."""
    assert v.identifier(1, "partner_id") == 1
    assert v.identifier("2147483647", "partner_id") == 2147483647
    assert v.identifier("0042", "partner_id") == 42
    for bad in (0, -5, 2 ** 31, 2 ** 70, True, 1.0, "", "12a", "３", "12345678901", None):
        with pytest.raises(ValueError, match="partner_id must be an integer from 1 to 2147483647"):
            v.identifier(bad, "partner_id")
    with pytest.raises(ValueError, match="more than 20 digits"):
        v.identifier(10 ** 30, "partner_id")


def test_seconds_are_finite_numbers_within_the_limit():
    """0..limit inclusive, ints or floats; NaN, infinities, negatives, strings and bools fail."""
    assert v.seconds(0, "duration") == 0 and v.seconds(v.MAX_SECONDS, "duration") == v.MAX_SECONDS
    assert v.seconds(12.5, "duration") == 12.5
    for bad in (float("nan"), float("inf"), -0.001, v.MAX_SECONDS + 1):
        with pytest.raises(ValueError, match="duration must be finite seconds"):
            v.seconds(bad, "duration")
    for bad in ("3", True, None):
        with pytest.raises(TypeError, match="duration must be a number of seconds"):
            v.seconds(bad, "duration")
    assert v.timestamp(v.MAX_TIME) == v.MAX_TIME
    with pytest.raises(ValueError, match="^t must"):
        v.timestamp(v.MAX_TIME + 1)


def test_url_needs_a_scheme_and_a_host_and_loses_its_trailing_slash():
    """http(s) with a host (userinfo and port allowed); no host, another scheme or a surrogate fail."""
    assert v.url("https://www.kaltura.com/api_v3/", "service_url") == "https://www.kaltura.com/api_v3"
    assert v.url("http://user@127.0.0.1:8765", "service_url") == "http://user@127.0.0.1:8765"
    for bad in ("http://", "https:///path", "http://:80/x", "http://user@/x", "ftp://host", "host/api_v3",
                "http://h\udcff/"):
        with pytest.raises(ValueError, match="service_url must be an http"):
            v.url(bad, "service_url")
    with pytest.raises(TypeError, match="service_url must be an http"):
        v.url(None, "service_url")


def test_hook_and_ks():
    """Hooks are None or callable; a KS is a non-empty encodable string and is never echoed."""
    assert v.hook(None, "on_event") is None and v.hook(print, "on_event") is print
    with pytest.raises(TypeError, match="on_event must be callable, got str"):
        v.hook("nope", "on_event")
    assert v.ks("djJ8MTAw") == "djJ8MTAw"
    for bad in ("", b"djJ8", 5, None):
        with pytest.raises(TypeError, match="ks must be a non-empty string"):
            v.ks(bad)
    with pytest.raises(ValueError, match="^ks cannot be encoded as UTF-8$"):
        v.ks("secret\udcff")


def test_encodable_and_long_values_in_messages():
    """Surrogates are detected; a long wrong value is shortened in the message."""
    assert v.encodable("ok ✓") and not v.encodable("\ud800")
    with pytest.raises(ValueError) as info:
        v.seconds(-1.0 * 10 ** 300, "position")
    assert len(str(info.value)) < 120


def test_identifier_limits_are_exact():
    """One to ten ASCII digits (an 11-character string is refused even when its value is small)."""
    assert v.identifier("7", "partner_id") == 7
    assert v.identifier("0000000042", "partner_id") == 42
    for bad in ("00000000042", "4X2", "4 2", "+42"):
        with pytest.raises(ValueError, match="partner_id must be an integer from 1 to 2147483647, got '"):
            v.identifier(bad, "partner_id")


def test_the_largest_event_timestamp_is_2106():
    """t may be any Unix second up to 2**32-1 (what an unsigned 32-bit eventTimestamp holds), not one more."""
    assert v.timestamp(4294967295) == 4294967295
    with pytest.raises(ValueError, match="^t must be finite seconds from 0 to 4294967295, got 4294967296$"):
        v.timestamp(4294967296)


def test_encodable_is_a_boolean():
    """encodable answers True or False, never something merely falsy."""
    assert v.encodable("ok") is True and v.encodable("\udcff") is False


def test_url_host_ends_at_the_path_query_or_fragment():
    """A URL whose authority is empty before '?', '#' or '/' has no host; a trailing slash (only) is dropped."""
    for bad in ("http://?x=1", "https://#top", "http:///api_v3", "http://user@?x"):
        with pytest.raises(ValueError, match="with a host"):
            v.url(bad, "service_url")
    assert v.url("http://h/a/b?c=d#e", "service_url") == "http://h/a/b?c=d#e"
    assert v.url("http://HOST/API_X//", "service_url") == "http://HOST/API_X"


@pytest.mark.parametrize("value, shown", [
    (10 ** 20, "an integer of more than 20 digits"),
    (-10 ** 20, "an integer of more than 20 digits"),
    (10 ** 20 - 1, "99999999999999999999"),
    (-10 ** 20 + 1, "-99999999999999999999"),
    ("a" * 38, "'" + "a" * 38 + "'"),  # 40 characters: shown whole
    ("a" * 39, "'" + "a" * 36 + "..."),  # 41: cut to 37 and an ellipsis
])
def test_a_wrong_value_is_shown_short_in_the_message(value, shown):
    """Integers of more than 20 digits are described, not printed; other values are shown up to 40 characters."""
    with pytest.raises(ValueError) as info:
        v.identifier(value, "partner_id")
    assert str(info.value) == "partner_id must be an integer from 1 to 2147483647, got " + shown
