"""Strict reading of request values, and JSON that always stays JSON.

Pure functions, no Flask and no I/O: the request parser, the reports and the
dashboard share them.

* ``parse_int`` / ``parse_float`` / ``parse_bool``: one grammar for numbers
  coming from form fields, query strings and JSON bodies.  Digits are ASCII
  only (``str.isdigit`` and ``int()`` also take "３" or "²"), numbers must be
  finite and inside the bounds given; anything else raises ``NotNumeric``,
  ``OutOfRange`` or ``NotBoolean`` (all ``ValueError``).
* ``finite``: the lenient reader for data already stored: a finite float or None.
* ``load_json``: a request body as JSON the way Kaltura's PHP reads it:
  ``NaN``/``Infinity`` and numbers that overflow a float stay text, and a
  body nested deeper than ``MAX_JSON_DEPTH`` is not JSON at all.
* ``json_safe`` / ``dump_json``: answers never carry ``NaN`` or ``Infinity``.
* ``xml_valid`` / ``xml_clean``: the characters XML 1.0 allows (what Kaltura's
  ``kXml::isXMLValidContent`` checks); lone surrogates and control
  characters are not among them.
"""

from __future__ import annotations

import json
import math
import re

INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT_MAX = 1.7976931348623157e308
MAX_JSON_DEPTH = 32
MAX_TIMESTAMP = 2.0 ** 53  # eventTimestamp and report dates: Unix seconds (or ms, older players)
_MAX_INT_DIGITS = 40  # longer digit strings are out of any range we accept

_ASCII_SPACE = " \t\r\n"
_INT_TEXT = re.compile(r"([+-]?)0*([0-9]+)")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TRUE, _FALSE = ("true", "1"), ("false", "0")


class NotNumeric(ValueError):
    """Not a number in our grammar (text, bool, NaN, infinity, wrong type)."""


class OutOfRange(ValueError):
    """A number outside the accepted bounds; ``bound`` is the one it crossed."""

    def __init__(self, bound, above):
        super().__init__(f"{'above' if above else 'below'} {bound}")
        self.bound = bound
        self.above = above


class NotBoolean(ValueError):
    """Not one of true/false/1/0."""


def _bounded(number, minimum, maximum):
    if number < minimum:
        raise OutOfRange(minimum, above=False)
    if number > maximum:
        raise OutOfRange(maximum, above=True)
    return number


def parse_int(value, minimum=INT64_MIN, maximum=INT64_MAX) -> int:
    """An integer from an int (never a bool) or ASCII-digit text with an
    optional sign; surrounding ASCII whitespace is ignored."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise NotNumeric(repr(value)[:40])
    if isinstance(value, int):
        return _bounded(value, minimum, maximum)
    m = _INT_TEXT.fullmatch(value.strip(_ASCII_SPACE))
    if m is None:
        raise NotNumeric(value[:40])
    sign, digits = m.groups()
    if len(digits) > _MAX_INT_DIGITS:
        raise OutOfRange(minimum, above=False) if sign == "-" else OutOfRange(maximum, above=True)
    return _bounded(int(sign + digits), minimum, maximum)


def parse_float(value, minimum=-FLOAT_MAX, maximum=FLOAT_MAX) -> float:
    """A finite float from an int, a float or decimal text (ASCII digits,
    optional fraction and exponent; no "nan", "inf" or "1_000")."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise NotNumeric(repr(value)[:40])
    if isinstance(value, str):
        text = value.strip(_ASCII_SPACE)
        if _FLOAT_TEXT.fullmatch(text) is None:
            raise NotNumeric(value[:40])
        value = text
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        raise OutOfRange(minimum, above=False) if value < 0 else OutOfRange(maximum, above=True)
    if not math.isfinite(number):
        raise NotNumeric(str(value)[:40])
    return _bounded(number, minimum, maximum)


def parse_bool(value) -> bool:
    """True/False from a bool, 0/1, or the text true/false/1/0 (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip(_ASCII_SPACE).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise NotBoolean(repr(value)[:40])


def finite(value):
    """A finite float read leniently from stored data, or None."""
    try:
        return parse_float(value)
    except ValueError:
        return None


# ---------------------------------------------------------------- text


def scalar_text(value) -> str:
    """A scalar as Kaltura writes it in XML and report cells: None and a
    non-finite float as "", booleans as "1"/"0", anything else by ``str``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def xml_valid(text: str) -> bool:
    return _XML_INVALID.search(text) is None


def xml_clean(text: str) -> str:
    """``text`` with every character XML cannot carry replaced by U+FFFD."""
    return _XML_INVALID.sub("\ufffd", text)


# ---------------------------------------------------------------- JSON


def _number_or_text(text):
    number = float(text)
    return number if math.isfinite(number) else text


def _int_or_text(text):
    return int(text) if len(text) <= _MAX_INT_DIGITS else text


def within_depth(obj, limit=MAX_JSON_DEPTH) -> bool:
    """True when lists/dicts in ``obj`` nest at most ``limit`` levels."""
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def load_json(data):
    """The JSON value of ``data`` (bytes or text), or None when it is not
    usable JSON (malformed, not UTF-8, nested deeper than MAX_JSON_DEPTH).
    Non-finite numbers stay text ("Infinity", "1e999"), so they reach the
    field checks as what they are: not numbers."""
    try:
        obj = json.loads(data, parse_constant=str, parse_float=_number_or_text,
                         parse_int=_int_or_text)
    except (ValueError, RecursionError):
        return None
    return obj if within_depth(obj) else None


def json_safe(obj):
    """``obj`` with every non-finite float replaced by None (lists, tuples and
    dicts are copied; other values are returned as they are)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: json_safe(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(value) for value in obj]
    return obj


def dump_json(obj, **kwargs) -> str:
    """Strict JSON text (never NaN/Infinity); other values via ``str``."""
    kwargs.setdefault("default", str)
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)
