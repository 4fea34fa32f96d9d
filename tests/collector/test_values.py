"""The collector's value grammar (strict numbers, JSON without NaN) and the store's per-call savepoints."""

import math
import sqlite3

import pytest

from kaltura_web.collector.summary import summary
from kaltura_web.collector.store import Store
from kaltura_web.collector.values import (INT32_MAX, NotBoolean, NotNumeric, OutOfRange, dump_json, finite,
                                          load_json, parse_bool, parse_float, parse_int, xml_clean, xml_valid)


@pytest.mark.parametrize("text, number", [("42", 42), (" -7\t", -7), ("+3", 3), ("007", 7), (12, 12)])
def test_parse_int_accepts_ascii_integers(text, number):
    """Integers are ASCII digits with an optional sign (whitespace around is ignored), or ints."""
    assert parse_int(text) == number


@pytest.mark.parametrize("value", ["３", "²", "٣", "3.7", "1e3", "1_000", "", " ", "0x10", "nan", True, 3.0, None,
                                   [1], "9.9e999"])
def test_parse_int_rejects_what_is_not_an_ascii_integer(value):
    """Fullwidth and superscript digits, fractions, bools, floats and text raise NotNumeric."""
    with pytest.raises(NotNumeric):
        parse_int(value)


def test_parse_int_bounds():
    """Out-of-range integers raise OutOfRange naming the crossed bound, even with 5,000 digits."""
    with pytest.raises(OutOfRange) as err:
        parse_int(str(2**70), 0, INT32_MAX)
    assert (err.value.bound, err.value.above) == (INT32_MAX, True)
    with pytest.raises(OutOfRange) as err:
        parse_int("-" + "9" * 5000, 1, 10)
    assert (err.value.bound, err.value.above) == (1, False)
    assert parse_int("2147483647", 0, INT32_MAX) == INT32_MAX


@pytest.mark.parametrize("text, number", [("1.5", 1.5), ("1e3", 1000.0), (".5", 0.5), ("7", 7.0), (2**60, 2.0**60)])
def test_parse_float_accepts_finite_decimals(text, number):
    """Floats are ASCII decimals with optional fraction and exponent."""
    assert parse_float(text) == number


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "Infinity", "-inf", "1e999", "9.9e999", float("nan"),
                                   float("inf"), "abc", "１.5", "1_0", False, None])
def test_parse_float_rejects_non_finite_and_text(value):
    """NaN, infinities (also 1e999, which overflows), text and bools raise NotNumeric."""
    with pytest.raises(NotNumeric):
        parse_float(value)


def test_parse_float_bounds():
    """A huge int (too big for a float) and values past the bounds raise OutOfRange."""
    with pytest.raises(OutOfRange):
        parse_float(10**400)
    with pytest.raises(OutOfRange):
        parse_float("-1", 0, 10)


def test_parse_bool():
    """Booleans are true/false/1/0 (any case) or bools; anything else raises NotBoolean."""
    assert [parse_bool(v) for v in (True, "true", "TRUE", "1", 1, False, "false", "0", 0)] == [True] * 5 + [False] * 4
    for value in ("yes", 2, "", None):
        with pytest.raises(NotBoolean):
            parse_bool(value)


def test_finite_is_lenient_for_stored_data():
    """finite() reads stored numbers, giving None for anything not finite."""
    assert [finite(v) for v in ("12", 3, 2.5, float("inf"), "nan", None, "x", True)] == \
        [12.0, 3.0, 2.5, None, None, None, None, None]


def test_load_json_keeps_non_finite_as_text_and_refuses_deep_nesting():
    """Infinity/NaN/1e999 stay text, huge ints stay text, and deep or malformed bodies are not JSON."""
    assert load_json('{"a": Infinity, "b": NaN, "c": 1e999, "d": 1.5, "e": 7}') == \
        {"a": "Infinity", "b": "NaN", "c": "1e999", "d": 1.5, "e": 7}
    assert load_json('{"n": %s}' % ("9" * 5000)) == {"n": "9" * 5000}
    assert load_json("[" * 33 + "]" * 33) is None and load_json("[" * 32 + "]" * 32) is not None
    assert load_json("[" * 100000 + "]" * 100000) is None
    assert load_json(b"\xff\xfe{") is None and load_json("{bad") is None


def test_dump_json_never_writes_nan():
    """dump_json replaces NaN and infinities by null at any depth."""
    assert dump_json({"a": [float("inf"), {"b": float("nan")}], "c": 1.5}) == '{"a": [null, {"b": null}], "c": 1.5}'


def test_xml_characters():
    """Lone surrogates and control characters are not XML; tab, newline and astral characters are."""
    assert xml_valid("a\tb\n\U0001F600é") and not xml_valid("\udcff") and not xml_valid("a\x01")
    assert xml_clean("a\x01\udcffb") == "a\ufffd\ufffdb"


def test_savepoint_undoes_only_its_own_writes():
    """Inside one transaction, a failing savepoint undoes its insert; the others are committed."""
    store = Store()
    with store.transaction():
        store.insert(service="stats", fields={}, session_id="kept-1")
        with pytest.raises(RuntimeError):
            with store.savepoint():
                store.insert(service="stats", fields={}, session_id="undone")
                raise RuntimeError("call failed")
        with store.savepoint():
            store.insert(service="stats", fields={}, session_id="kept-2")
    assert [e["session_id"] for e in store.events()] == ["kept-1", "kept-2"]


def test_rows_written_by_others_do_not_break_reading(tmp_path):
    """Rows with unparseable fields or text timestamps (written by another program) still read and report."""
    path = str(tmp_path / "odd.db")
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO events (received_at, service, event_type, session_id, entry_id, event_timestamp, fields)"
        " VALUES (?, 'stats', 3, ?, 'e', ?, ?)",
        [("abc", "s1", "later", "not json"), (1.0, "s2", float("inf"), "[1, 2]"), (2.0, "s3", 5.0, '{"x": 1')])
    conn.commit()
    conn.close()
    store = Store(path)
    events = store.events()
    assert [e["fields"] for e in events] == [{}, {}, {}]
    totals = summary(events)["totals"]
    assert totals["plays"] == 3 and math.isfinite(totals["minutesViewed"])
    store.close()
