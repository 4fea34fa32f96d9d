"""The one parser of request parameters, and the typed readers that check them.

``request_params(request)`` merges the body (form fields, or a JSON object
when the Content-Type is exactly ``application/json``) and the query string
(which wins) into flat params plus nested objects: ``event[x]``, ``event:x``
and ``{"event": {...}}`` all land in ``nested["event"]["x"]``.  A body that
is not usable JSON (malformed, not UTF-8, nested more than 32 levels) counts
as no body, as with Kaltura's ``json_decode``; a body over the size limit
raises werkzeug's 413.

The readers (``read_int``, ``read_float``, ``read_bool``, ``read_enum``, and the
lenient ``int_or``) apply
the grammar of ``values`` and raise the ``ApiError`` Kaltura gives
(PROPERTY_VALIDATION_NUMERIC_VALUE / _MIN_VALUE / _MAX_VALUE / _WRONG_FORMAT,
INVALID_ENUM_VALUE).  ``check_text`` answers INVALID_PARAMETER_CHAR for a
name or text value that XML cannot carry (lone surrogates, control
characters), like Kaltura's ``kXml::isXMLValidContent``.

``split_calls`` reads a multirequest the way Kaltura's front controller does.
"""

from __future__ import annotations

import re

from .answers import (above_maximum, below_minimum, invalid_char, invalid_enum,
                      not_numeric, wrong_format)
from .values import (INT32_MAX, INT64_MAX, INT64_MIN, OutOfRange, load_json, parse_bool,
                     parse_float, parse_int, xml_clean, xml_valid)

_BRACKET = re.compile(r"([A-Za-z_]\w*)\[([^\]]*)\]", re.ASCII)
_COLON = re.compile(r"([A-Za-z_]\w*):(.+)", re.ASCII | re.DOTALL)
_CALL_INDEX = re.compile(r"[0-9]{1,9}")  # longer indexes can never be reached from 1
_CALL_KEY = re.compile(r"([0-9]{1,9}):(.+)", re.DOTALL)
INHERITED = ("ks", "partnerId", "clientTag")  # top-level params every call gets


def present(value) -> bool:
    return value is not None and str(value).strip() != ""


def optional_text(value):
    """``value`` as text when present, else None (ids stored as given)."""
    return str(value) if present(value) else None


def flatten_into(params: dict, nested: dict, source: dict) -> None:
    """Merge one source (body or query) into flat params and nested objects."""
    for key, value in source.items():
        key = str(key)
        if key.endswith("__null"):
            continue
        if isinstance(value, dict):
            nested.setdefault(key, {}).update(
                {str(k): v for k, v in value.items() if not str(k).endswith("__null")})
            continue
        m = _BRACKET.fullmatch(key) or _COLON.fullmatch(key)
        if m:
            nested.setdefault(m.group(1), {})[m.group(2)] = value
            continue
        params[key] = value


def _body(request) -> dict:
    from werkzeug.exceptions import HTTPException

    if request.mimetype == "application/json":
        body = load_json(request.get_data(cache=True))
        return body if isinstance(body, dict) else {}
    try:
        return request.form.to_dict()
    except HTTPException:  # 413 over the limit, 400 a client gone or timed out mid-body
        raise
    except Exception:  # a malformed multipart body and the like: no body
        return {}


def request_params(request):
    """(flat params, nested objects) of a Flask request; URL params win."""
    params, nested = {}, {}
    flatten_into(params, nested, _body(request))
    flatten_into(params, nested, request.args.to_dict())
    return params, nested


# ---------------------------------------------------------------- typed readers


def _number(parse, value, name, minimum, maximum):
    try:
        return parse(value, minimum, maximum)
    except OutOfRange as err:
        raise (above_maximum if err.above else below_minimum)(name, err.bound) from None
    except ValueError:
        raise not_numeric(name) from None


def read_int(value, name, minimum=0, maximum=INT32_MAX) -> int:
    return _number(parse_int, value, name, minimum, maximum)


def read_float(value, name, minimum, maximum) -> float:
    return _number(parse_float, value, name, minimum, maximum)


def int_or(value, default=None):
    """A 64-bit integer in the strict grammar, or ``default`` when ``value`` is
    absent or not one: for lenient options (a resume point, a backlog size)."""
    try:
        return parse_int(value, INT64_MIN, INT64_MAX)
    except ValueError:
        return default


def read_bool(value, name) -> bool:
    try:
        return parse_bool(value)
    except ValueError:
        raise wrong_format(name, "true|false|1|0") from None


def read_enum(value, name, enum_type, allowed) -> int:
    try:
        number = parse_int(value, INT64_MIN, INT64_MAX)
    except ValueError:
        number = None
    if number is None or number not in allowed:
        raise invalid_enum(value, name, enum_type)
    return number


def check_text(*sources: dict) -> None:
    """INVALID_PARAMETER_CHAR for the first name or text value of ``sources``
    (params, nested objects), at any depth, holding a character XML 1.0
    cannot carry."""
    stack = [("", source) for source in sources]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                key = str(key)
                name = f"{path}:{key}" if path else key
                if not xml_valid(key):
                    raise invalid_char(xml_clean(name))
                stack.append((name, item))
        elif isinstance(value, list):
            stack.extend((path, item) for item in value)
        elif isinstance(value, str) and not xml_valid(value):
            raise invalid_char(path)


# ---------------------------------------------------------------- multirequest


def split_calls(params: dict, nested: dict):
    """(common params, [(index, call params, call nested)]) of a multirequest.

    Calls are ``N:service``, ``N:action``, ``N:<param>`` (or a JSON object
    under ``"N"``), N in ASCII digits.  Like Kaltura, reading starts at index
    1 (0 when present) and stops at the first index that has no service or
    no action; ks, partnerId and clientTag are inherited by every call."""
    raw, common = {}, {}
    for key, value in params.items():
        m = _CALL_KEY.fullmatch(key)
        if m:
            raw.setdefault(int(m.group(1)), {})[m.group(2)] = value
        else:
            common[key] = value
    for key, value in nested.items():
        if _CALL_INDEX.fullmatch(key):
            raw.setdefault(int(key), {}).update(value)
        else:
            common[key] = value
    calls = []
    index = 0 if 0 in raw else 1
    while index in raw and raw[index].get("service") is not None \
            and raw[index].get("action") is not None:
        call_params, call_nested = {}, {}
        flatten_into(call_params, call_nested, raw[index])
        call_params.pop("format", None)
        for name in INHERITED:
            if name in params and name not in call_params:
                call_params[name] = params[name]
        calls.append((index, call_params, call_nested))
        index += 1
    return common, calls

