"""HTTP helpers shared by the collector tests."""

import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

CURL = shutil.which("curl")


def require_curl():
    """The real curl binary; its absence fails the test (make setup installs it)."""
    if CURL is None:
        pytest.fail("curl is required for the guide's curl calls: run `make setup` (apt-get install curl)",
                    pytrace=False)
    return CURL


def curl_post(url, pairs, extra=()):
    """POST form fields with the real curl binary, like the guide's examples."""
    cmd = [require_curl(), "-s", "-S", "-X", "POST", url, *extra]
    for key, value in pairs:
        cmd += ["-d", f"{key}={value}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    return proc


def http(method, url, data=None, headers=None, timeout=10):
    """(status, headers, body bytes) without raising on HTTP errors."""
    if isinstance(data, dict):
        data = urllib.parse.urlencode(data).encode()
    elif isinstance(data, str):
        data = data.encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def post_json(url, obj, headers=None):
    h = {"Content-Type": "application/json", **(headers or {})}
    return http("POST", url, json.dumps(obj).encode(), h)


def stats_fields(collector, session_id, event_type, entry_id="0_entry", ks=None, **extra):
    fields = {
        "format": "1",
        "event[objectType]": "KalturaStatsEvent",
        "event[partnerId]": str(collector.partner_id),
        "event[entryId]": entry_id,
        "event[eventType]": str(event_type),
        "event[sessionId]": session_id,
        "event[eventTimestamp]": "1700000000",
    }
    if ks:
        fields["ks"] = ks
    for key, value in extra.items():
        fields[f"event[{key}]"] = str(value)
    return fields


