"""The CPython edge's urllib transport against a local HTTP server: headers kept, failures typed."""

import http.server
import socket
import threading
import urllib.parse

import pytest

from kaltura_web.core import ports
from kaltura_web.core.ports import Response, TransportError
from kaltura_web.cpython.transport import UrllibTransport


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = urllib.parse.parse_qs(self.rfile.read(length).decode())
        status = int(body.get("status", ["200"])[0])
        self.send_response(status)
        self.send_header("Retry-After", "17")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"code":"X"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()
    server.server_close()


class _Req:
    def __init__(self, url, body="status=200"):
        self.url, self.body, self.method = url, body, "POST"
        self.headers = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("status", [200, 429, 503])
def test_urllib_transport_keeps_status_headers_and_body(local_server, status):
    """Any HTTP answer, errors included, comes back as a Response with its headers (Retry-After kept)."""
    answer = UrllibTransport(timeout=5).send(_Req(local_server, "status=%d" % status))
    assert isinstance(answer, Response) and answer.status == status
    assert answer.header("retry-after") == "17" and answer.body == '{"code":"X"}'


def test_urllib_transport_refused_connection_is_a_network_error():
    """A port nobody listens on gives a TransportError of kind network."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    answer = UrllibTransport(timeout=5).send(_Req("http://127.0.0.1:%d/" % port))
    assert isinstance(answer, TransportError) and answer.kind == ports.NETWORK


def test_urllib_transport_silent_server_is_a_timeout():
    """A server that accepts the connection but never answers gives a TransportError of kind timeout."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        answer = UrllibTransport(timeout=0.2).send(_Req("http://127.0.0.1:%d/" % silent.getsockname()[1]))
    finally:
        silent.close()
    assert isinstance(answer, TransportError) and answer.kind == ports.TIMEOUT
