"""Static files (MIME types, HTTP Range) and interop with Kaltura's official Python client."""

import time

import pytest

from kaltura_web.collector.server import CollectorServer

from collector_helpers import http


@pytest.fixture(scope="module")
def static_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    (root / "index.html").write_text("<h1>demo</h1>")
    (root / "clip.webm").write_bytes(bytes(range(256)) * 40)
    for name in ("a.wasm", "m.mjs", "s.js", "p.whl", "d.json"):
        (root / name).write_bytes(b"0123456789")
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_text("sub")
    with CollectorServer(web_root=root) as srv:
        yield srv


def test_mime_types(static_server):
    """Static files are served under /web/ with the MIME types browsers need."""
    want = {"a.wasm": "application/wasm", "m.mjs": "text/javascript", "s.js": "text/javascript",
            "p.whl": "application/zip", "clip.webm": "video/webm", "d.json": "application/json",
            "index.html": "text/html"}
    for name, mime in want.items():
        status, headers, _ = http("GET", f"{static_server.base_url}/web/{name}")
        assert status == 200 and headers["Content-Type"].split(";")[0] == mime, name


def test_range_request(static_server):
    """A Range request answers 206 with Content-Range and exactly the bytes asked for."""
    url = static_server.base_url + "/web/clip.webm"
    status, headers, body = http("GET", url, headers={"Range": "bytes=100-199"})
    assert status == 206 and body == (bytes(range(256)) * 40)[100:200]
    assert headers["Content-Range"] == "bytes 100-199/10240" and headers["Accept-Ranges"] == "bytes"
    status, headers, body = http("GET", url, headers={"Range": "bytes=-10"})
    assert status == 206 and len(body) == 10
    assert http("GET", url, headers={"Range": "bytes=99999-"})[0] == 416


def test_index_redirect_and_traversal(static_server):
    """/web/ serves index.html (/ is the dashboard), directories too, paths cannot escape the root."""
    status, _, body = http("GET", static_server.base_url + "/web/")
    assert status == 200 and body == b"<h1>demo</h1>"
    assert http("GET", static_server.base_url + "/web/sub/")[2] == b"sub"
    assert http("GET", static_server.base_url + "/web/../../etc/passwd")[0] == 404
    assert http("GET", static_server.base_url + "/web/%2e%2e/x")[0] == 404
    assert http("GET", static_server.base_url + "/web/missing.js")[0] == 404


def _client(kc):
    import KalturaClient as kaltura  # test extra, with pycryptodome for generateSessionV2

    config = kaltura.KalturaConfiguration(kc.partner_id)
    config.serviceUrl = kc.base_url
    return kaltura, kaltura.KalturaClient(config)


def test_official_client_session_start_and_collect(kaltura_collector):
    """KalturaClient's session.start and stats.collect (JSON body, XML answers) work."""
    kaltura, client = _client(kaltura_collector)
    from KalturaClient.Plugins.Core import KalturaSessionType, KalturaStatsEvent, KalturaStatsEventType

    ks = client.session.start(kaltura_collector.server.config.admin_secret, "sdk-user@example.com",
                              KalturaSessionType.USER, kaltura_collector.partner_id, 3600, "appId:sdk-app")
    client.setKs(ks)
    event = KalturaStatsEvent(partnerId=kaltura_collector.partner_id, entryId="0_sdk",
                              eventType=KalturaStatsEventType.PLAY, sessionId="sdk-session",
                              eventTimestamp=time.time())
    client.stats.collect(event)
    (ev,) = kaltura_collector.events(session_id="sdk-session")
    assert (ev["user_id"], ev["app_id"], ev["event_type"]) == ("sdk-user@example.com", "sdk-app", 3)


def test_official_client_generated_ks_accepted(kaltura_collector):
    """A KS from generateSessionV2 with our admin secret is accepted by stats.collect."""
    kaltura, client = _client(kaltura_collector)
    from KalturaClient.Plugins.Core import KalturaStatsEvent

    ks = kaltura.KalturaClient.generateSessionV2(kaltura_collector.server.config.admin_secret,
                                                 "gen@example.com", 0, kaltura_collector.partner_id, 600, "")
    client.setKs(ks.decode() if isinstance(ks, bytes) else ks)
    client.stats.collect(KalturaStatsEvent(partnerId=kaltura_collector.partner_id, entryId="0_g",
                                           eventType=1, sessionId="gen", eventTimestamp=1))
    assert kaltura_collector.events(session_id="gen")[0]["user_id"] == "gen@example.com"


def test_official_client_sees_errors(kaltura_collector):
    """The client raises KalturaException with the code from our XML error answers."""
    kaltura, client = _client(kaltura_collector)
    from KalturaClient.exceptions import KalturaException
    from KalturaClient.Plugins.Core import KalturaStatsEvent

    with pytest.raises(KalturaException) as exc:
        client.session.start("wrong-secret", "u", 0, kaltura_collector.partner_id)
    assert exc.value.code == "START_SESSION_ERROR"
    client.setKs(kaltura_collector.ks(expiry=-60))
    with pytest.raises(KalturaException) as exc:
        client.stats.collect(KalturaStatsEvent(partnerId=kaltura_collector.partner_id, entryId="e",
                                               eventType=3, sessionId="s", eventTimestamp=1))
    assert exc.value.code == "INVALID_KS"
