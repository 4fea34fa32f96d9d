"""One error path: every failure on every route is a KalturaAPIException rendered by answers."""

import ast
import json
import pathlib

from collector_helpers import http

COLLECTOR = pathlib.Path(__file__).resolve().parents[2] / "kaltura_web" / "collector"


def exception(body):
    """The KalturaAPIException of a JSON error body, as (code, message)."""
    data = json.loads(body)
    assert data["objectType"] == "KalturaAPIException" and isinstance(data["args"], dict), data
    return data["code"], data["message"]


def test_dev_route_refusals_are_kaltura_exceptions(kaltura_collector):
    """A cross-origin development request gets 403 with a FORBIDDEN exception naming the reason."""
    status, _, body = http("GET", kaltura_collector.base_url + "/dev/events",
                           headers={"Origin": "http://localhost:9"})
    code, message = exception(body)
    assert (status, code) == (403, "FORBIDDEN") and "same-origin" in message


def test_dev_route_bad_input_uses_the_parameter_readers(kaltura_collector):
    """/dev/ks, /dev/events, /dev/summary and /dev/faults answer 400 with the readers' Kaltura codes."""
    base = kaltura_collector.base_url
    cases = [("GET", "/dev/ks?expiry=abc", None, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
             ("GET", "/dev/ks?expiry=0", None, "PROPERTY_VALIDATION_MIN_VALUE"),
             ("GET", "/dev/ks?userId=%01", None, "INVALID_PARAMETER_CHAR"),
             ("GET", "/dev/events?since=x", None, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
             ("GET", "/dev/summary?to=later", None, "PROPERTY_VALIDATION_NUMERIC_VALUE"),
             ("POST", "/dev/faults", b'{"mode": "explode"}', "INVALID_FAULT_SPEC")]
    for method, path, data, want in cases:
        headers = {"Content-Type": "application/json"} if data else {}
        status, _, body = http(method, base + path, data, headers)
        assert (status, exception(body)[0]) == (400, want), path


def test_unknown_paths_methods_and_files_are_kaltura_exceptions(kaltura_collector):
    """404 (unknown path, missing /web/ file, unknown dashboard file) and 405 answer JSON exceptions."""
    base = kaltura_collector.base_url
    for path in ("/nowhere", "/web/missing.js", "/dashboard/__init__.py", "/api_v3/nowhere/x"):
        status, _, body = http("GET", base + path)
        assert (status, exception(body)[0]) == (404, "NOT_FOUND"), path
    status, headers, body = http("GET", base + "/api_v3/service/multirequest")
    assert (status, exception(body)[0]) == (405, "METHOD_NOT_ALLOWED")
    assert "POST" in headers["Allow"]


def test_injected_status_fault_is_a_kaltura_exception(kaltura_collector, collect_url):
    """A status fault answers its HTTP status with an INJECTED_FAULT exception, CORS included."""
    kaltura_collector.faults.fail_next(1, status=503)
    status, headers, body = http("POST", collect_url, {"format": "1"}, {"Origin": "http://localhost:9"})
    assert (status, exception(body)) == (503, ("INJECTED_FAULT", "injected HTTP 503"))
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:9"


def _other_error_styles(tree):
    """Calls to abort()/fail() and dict literals keyed "error" in one module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name in ("abort", "fail"):
                yield node.lineno, name + "()"
        elif isinstance(node, ast.Dict):
            if any(isinstance(k, ast.Constant) and k.value == "error" for k in node.keys):
                yield node.lineno, '{"error": ...}'


def test_no_other_error_style_in_the_collector():
    """No collector module answers an error another way (abort, fail, an {"error": ...} body)."""
    found = [f"{path.relative_to(COLLECTOR)}:{line} {what}"
             for path in sorted(COLLECTOR.rglob("*.py"))
             for line, what in _other_error_styles(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == []


def test_error_style_check_sees_a_violation():
    """The source check above finds an abort() call and an {"error": ...} body when there is one."""
    tree = ast.parse('def view():\n    abort(404)\n    return jsonify({"error": "x"}), 400\n')
    assert [what for _, what in _other_error_styles(tree)] == ["abort()", '{"error": ...}']
