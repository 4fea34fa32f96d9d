"""What the collector answers: Kaltura's errors and result documents.

Every failure of a request, on any route, is an ``ApiError`` (Kaltura's
KalturaAPIException: ``code``, ``message``, ``args``) raised where it is found,
and every answer is rendered by ``kaltura_response``:

* an API v3 call answers HTTP 200 in the requested format (JSON, XML or
  JSONP), its error in place of its result (per slot in a multirequest);
* everything else that fails (the analytics endpoint's 400/401, a refused
  development route, an unknown path, a body over the limit, an injected
  fault, an unexpected bug) answers ``http_error(err)``: the exception as JSON
  with the error's HTTP ``status``.

Codes and messages follow Kaltura's KalturaErrors where Kaltura has one.
"""

from __future__ import annotations

import re
import time
from xml.sax.saxutils import escape

from .values import dump_json, scalar_text, xml_clean

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


def not_found(message="not found"):
    return ApiError("NOT_FOUND", message, status=404)


def forbidden(reason):
    """A development route refused to this caller (see ``security.dev_refusal``)."""
    return ApiError("FORBIDDEN", reason, status=403)


def too_large(limit):
    return ApiError("REQUEST_ENTITY_TOO_LARGE", f"The request body is larger than {limit} bytes",
                    {"MAX_BYTES": limit}, status=413)


def bad_fault_spec(reason):
    return ApiError("INVALID_FAULT_SPEC", reason, status=400)


def injected_fault(status):
    """The answer of a ``status`` fault rule (the event is not stored)."""
    return ApiError("INJECTED_FAULT", f"injected HTTP {status}", status=status)


def from_http_exception(err):
    """An ApiError for one of werkzeug's HTTP errors (405, 400 for a client
    gone mid-body, ...), named after it: METHOD_NOT_ALLOWED, BAD_REQUEST."""
    code = "_".join((err.name or "error").upper().split())
    return ApiError(code, err.description or err.name or "error", status=err.code or 500)


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
    if isinstance(value, ApiError):
        return _xml_error(value)
    if isinstance(value, dict):
        return "".join(f"<{k}>{xml_value(v)}</{k}>" for k, v in value.items()
                       if isinstance(k, str) and _XML_TAG.fullmatch(k))
    if isinstance(value, (list, tuple)):
        return "".join(f"<item>{xml_value(v)}</item>" for v in value)
    return _xml_text(scalar_text(value))


def json_value(value):
    """The JSON form of a result (ApiErrors as KalturaAPIException objects)."""
    if isinstance(value, ApiError):
        return value.as_json()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def kaltura_response(result, fmt, started=None, callback=None, status=200):
    """An answer: ``result`` (a value, an ApiError, or a list of them for a
    multirequest) in format 1 (JSON), 9 (JSONP) or XML; HTTP 200 unless
    ``status`` says otherwise.  ``started`` (perf_counter) gives the XML
    executionTime."""
    from werkzeug.wrappers import Response

    if fmt in (FORMAT_JSON, FORMAT_JSONP):
        body = dump_json(json_value(result))
        if fmt == FORMAT_JSONP and isinstance(callback, str) and _JSONP_CALLBACK.fullmatch(callback):
            return Response(f"{callback}({body});", status, mimetype="text/javascript")
        return Response(body, status, mimetype="application/json")
    elapsed = max(time.perf_counter() - started, 0.0) if started is not None else 0.0
    body = ('<?xml version="1.0" encoding="utf-8"?><xml><result>' + xml_value(result)
            + f"</result><executionTime>{elapsed:.6f}</executionTime></xml>")
    return Response(body, status, content_type="text/xml; charset=utf-8")


def http_error(err: ApiError):
    """An error that is the whole answer, outside API v3's HTTP 200: a JSON
    KalturaAPIException with the error's HTTP ``status``."""
    return kaltura_response(err, FORMAT_JSON, status=err.status)
