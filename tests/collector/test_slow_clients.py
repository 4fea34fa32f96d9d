"""Slow clients time out: a stalled upload or half-sent request cannot hold a server thread."""

import socket
import threading
import time

import pytest

from kaltura_web.collector.server import CollectorServer

from collector_helpers import http, stats_fields

READ_TIMEOUT = 0.3   # the server's, configured short for the test
DEADLINE = 15.0      # how long the test waits for the server to act (it needs about READ_TIMEOUT)

STALLED = {
    "connected, nothing sent": b"",
    "half a request line": b"POST /api_v3/service/stats/action/collect HTT",
    "headers, no blank line": b"POST /api_v3/service/stats/action/collect HTTP/1.1\r\nHost: x\r\n",
    "form body cut short": (b"POST /api_v3/service/stats/action/collect?format=1 HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
                            b"event[eventType]=3&event[partnerId]=100"),
    "JSON body cut short": (b"POST /api_v3/index.php?service=analytics&action=trackEvent&eventType=10003"
                            b"&partnerId=100 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 100000\r\n\r\n{\"pageName\": \"st"),
}


def wait_closed(sock, deadline):
    """Read until the server closes the connection; True if it did before ``deadline``."""
    sock.settimeout(0.05)
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except OSError:  # reset by the server
            return True
    return False


def test_stalled_connections_are_closed_and_threads_freed(tmp_path):
    """Five stalled clients are disconnected after the read timeout, their threads end, nothing is stored."""
    with CollectorServer(db=tmp_path / "slow.db", read_timeout=READ_TIMEOUT) as srv:
        baseline = threading.active_count()
        sockets = []
        for payload in STALLED.values():
            sock = socket.create_connection(("127.0.0.1", srv.port))
            sock.sendall(payload)
            sockets.append(sock)
        deadline = time.monotonic() + DEADLINE
        try:
            closed = {name: wait_closed(sock, deadline) for name, sock in zip(STALLED, sockets)}
        finally:
            for sock in sockets:
                sock.close()
        assert all(closed.values()), closed
        while threading.active_count() > baseline and time.monotonic() < deadline:
            time.sleep(0.01)  # poll interval; the deadline bounds the wait
        assert threading.active_count() <= baseline, (
            "%d handler threads still alive %.0f s after the stalled clients were cut off"
            % (threading.active_count() - baseline, DEADLINE))
        assert srv.store.count() == 0
        fields = stats_fields(srv, "after", 1)
        assert http("POST", srv.service_url + "/service/stats/action/collect", fields)[2] == b"null"


@pytest.mark.parametrize("value, error", [(0, ValueError), (-1, ValueError), (float("nan"), ValueError),
                                          (float("inf"), ValueError), ("10", TypeError), (True, TypeError)])
def test_read_timeout_must_be_a_positive_number(value, error):
    """CollectorServer(read_timeout=...) refuses a non-number (TypeError) or a non-positive/non-finite one."""
    with pytest.raises(error, match="read_timeout"):
        CollectorServer(read_timeout=value)
