"""What the collector answers: Kaltura's errors and result documents.

Every failure of a request is an ``ApiError`` (Kaltura's KalturaAPIException:
``code``, ``message``, ``args``) raised where it is found and rendered in one
place: HTTP 200 in the requested format for API v3 (JSON, XML or JSONP, and
per slot in a multirequest), or JSON with the error's ``status`` for the
analytics endpoint.  Codes and messages follow Kaltura's KalturaErrors.
"""

from __future__ import annotations

import math
import re
import time
from xml.sax.saxutils import escape

from .values import dump_json, xml_clean

FORMAT_JSON, FORMAT_XML, FORMAT_JSONP = "1", "2", "9"

_XML_TAG = re.compile(r"[A-Za-z_][\w.-]*")
_JSONP_CALLBACK = re.compile(r"[A-Za-z_$][\w.$]*")


class ApiError(Exception):
    """A KalturaAPIException.  ``status`` is the HTTP status the analytics
    endpoint answers it with (API v3 always answers 200)."""

    def __init__(self, code, message, args=None, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.args_dict = {k: "" if v is None else str(v) for k, v in (args or {}).items()}

    def with_status(self, status) -> "ApiError":
        self.status = status
        return self

    def as_json(self) -> dict:
        return {"code": self.code, "message": self.message,
                "objectType": "KalturaAPIException", "args": self.args_dict}


def missing_parameter(name):
    return ApiError("MISSING_MANDATORY_PARAMETER", f'Missing parameter "{name}"', {"PARAM_NAME": name})


def invalid_enum(value, param, enum_type):
    value = str(value)[:100]
    return ApiError("INVALID_ENUM_VALUE",
                    f'Invalid enumeration value, "{value}" for parameter "{param}", '
                    f'expecting enumeration type of "{enum_type}"',
                    {"ENUM_VAL": value, "PARAM_NAME": param, "ENUM_TYPE": enum_type})


def not_numeric(name):
    return ApiError("PROPERTY_VALIDATION_NUMERIC_VALUE", f'The property "{name}" must be numeric',
                    {"PROP_NAME": name})


def below_minimum(name, minimum):
    return ApiError("PROPERTY_VALIDATION_MIN_VALUE",
                    f'The property "{name}" must have a min value of {minimum}',
                    {"PROP_NAME": name, "MIN_VAL": minimum})


def above_maximum(name, maximum):
    return ApiError("PROPERTY_VALIDATION_MAX_VALUE",
                    f'The property "{name}" must have a max value of {maximum}',
                    {"PROP_NAME": name, "MAX_VAL": maximum})


def wrong_format(name, expected):
    return ApiError("PROPERTY_VALIDATION_WRONG_FORMAT",
                    f'The property "{name}" must match format {expected}',
                    {"PROP_NAME": name, "FORMAT": expected})


def invalid_char(name):
    return ApiError("INVALID_PARAMETER_CHAR", f'Invalid char in "{name}" field', {"XML_FIELD": name})


def invalid_ks(ks_string, err):
    from .ks import mask_ks

    ksid = mask_ks(ks_string)
    return ApiError("INVALID_KS", f'Invalid KS "{ksid}", Error "{err.code},{err.name}"',
                    {"KSID": ksid, "ERR_CODE": str(err.code), "ERR_DESC": err.name}, status=401)


def no_such_service(service, action):
    service, action = xml_clean(str(service))[:100], xml_clean(str(action))[:100]
    return ApiError("SERVICE_DOES_NOT_EXISTS", f'Service "{service}" action "{action}" does not exist here',
                    {"SERVICE": service, "ACTION": action}, status=404)


def internal_error():
    """Kaltura's answer to an unexpected failure (its spelling; clients retry it)."""
    return ApiError("INTERNAL_SERVERL_ERROR", "Internal server error occurred", status=500)


# ---------------------------------------------------------------- rendering


def _xml_text(value) -> str:
    return escape(xml_clean(str(value)))


def _xml_error(err: ApiError) -> str:
    args = "".join(
        f"<item><objectType>KalturaApiExceptionArg</objectType><name>{_xml_text(k)}</name>"
        f"<value>{_xml_text(v)}</value></item>" for k, v in err.args_dict.items())
    return (f"<error><code>{_xml_text(err.code)}</code><message>{_xml_text(err.message)}</message>"
            f"<objectType>KalturaAPIException</objectType><args>{args}</args></error>")


def xml_value(value) -> str:
    """Kaltura's XML serialisation of a result (an ApiError becomes ``<error>``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, ApiError):
        return _xml_error(value)
    if isinstance(value, dict):
        return "".join(f"<{k}>{xml_value(v)}</{k}>" for k, v in value.items()
                       if isinstance(k, str) and _XML_TAG.fullmatch(k))
    if isinstance(value, (list, tuple)):
        return "".join(f"<item>{xml_value(v)}</item>" for v in value)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return _xml_text(value)


def json_value(value):
    """The JSON form of a result (ApiErrors as KalturaAPIException objects)."""
    if isinstance(value, ApiError):
        return value.as_json()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def kaltura_response(result, fmt, started, callback=None, status=200):
    """An API v3 answer: ``result`` (a value, an ApiError, or a list of them
    for a multirequest) in format 1 (JSON), 9 (JSONP) or XML; HTTP 200
    unless ``status`` says otherwise (404 for an unknown service)."""
    from flask import Response

    if fmt in (FORMAT_JSON, FORMAT_JSONP):
        body = dump_json(json_value(result))
        if fmt == FORMAT_JSONP and isinstance(callback, str) and _JSONP_CALLBACK.fullmatch(callback):
            return Response(f"{callback}({body});", status, mimetype="text/javascript")
        return Response(body, status, mimetype="application/json")
    elapsed = max(time.perf_counter() - started, 0.0)
    body = ('<?xml version="1.0" encoding="utf-8"?><xml><result>' + xml_value(result)
            + f"</result><executionTime>{elapsed:.6f}</executionTime></xml>")
    return Response(body, status, content_type="text/xml; charset=utf-8")


def json_error(err: ApiError, status=None):
    """An error as a JSON KalturaAPIException with an HTTP status (the
    analytics endpoint, body limit, unknown paths)."""
    from flask import Response

    return Response(dump_json(err.as_json()), status or err.status, mimetype="application/json")
