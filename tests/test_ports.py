"""The ports: what a Store must do, what a Transport returns (Response or TransportError)."""

import pytest

from kaltura_web.core import ports
from kaltura_web.core.ports import MemoryStore, Response, TransportError


def test_unknown_transport_error_kind_is_refused():
    """A TransportError must have one of the known kinds: anything else is a ValueError."""
    with pytest.raises(ValueError):
        TransportError("dns", "no such host")


def test_response_keeps_headers_case_insensitively_and_checks_the_status():
    """Header names are kept in lower case and found in any case; a status outside 100-599 is refused."""
    answer = Response(429, {"Retry-After": "5", "X-Trace": 7}, None)
    assert answer.header("RETRY-AFTER") == "5" and answer.headers == {"retry-after": "5", "x-trace": "7"}
    assert answer.body == ""
    with pytest.raises(ValueError):
        Response(0)


def test_memory_store_is_a_store():
    """The memory store fills the Store port; the port itself is abstract."""
    store = MemoryStore()
    assert isinstance(store, ports.Store)
    with pytest.raises(NotImplementedError):
        ports.Store().load("s")


def test_the_transport_error_kinds_are_the_documented_words():
    """The kinds a TransportError may have are exactly network, timeout, tls and invalid (they appear in log lines)."""
    assert ports.ERROR_KINDS == ("network", "timeout", "tls", "invalid")
    assert (ports.NETWORK, ports.TIMEOUT, ports.TLS, ports.INVALID) == ports.ERROR_KINDS


def test_a_transport_error_keeps_its_kind_and_message():
    """kind and message are kept; str() is 'kind: message', or the kind alone without a message."""
    error = TransportError(ports.TLS, "certificate expired")
    assert (error.kind, error.message, str(error)) == ("tls", "certificate expired", "tls: certificate expired")
    bare = TransportError(ports.TIMEOUT)
    assert (bare.kind, bare.message, str(bare)) == ("timeout", "", "timeout")


@pytest.mark.parametrize("status", [100, 599])
def test_response_accepts_every_http_status(status):
    """100 and 599 are the first and last status codes accepted; the body defaults to empty text."""
    answer = Response(status)
    assert (answer.status, answer.headers, answer.body) == (status, {}, "")


@pytest.mark.parametrize("status", [99, 600, 200.0, True, "200"])
def test_response_refuses_what_is_not_a_status(status):
    """Integers outside 100-599, floats, booleans and strings are a ValueError."""
    with pytest.raises(ValueError, match="status must be an HTTP status code"):
        Response(status)


def test_response_repr_shows_sizes_not_content():
    """The repr gives the status and the sizes, never the body (which may hold a KS echoed back)."""
    assert repr(Response(503, {"Retry-After": "5"}, "busy")) == "Response(503, 1 headers, 4 characters)"


def test_raised_and_as_answer_turn_anything_into_an_answer():
    """A raised TransportError is kept; any other exception is a network error naming it; a non-answer is 'invalid'."""
    timeout = TransportError(ports.TIMEOUT, "slow")
    assert ports.raised(timeout) is timeout
    reset = ports.raised(OSError("reset"))
    assert (reset.kind, reset.message) == ("network", "the transport raised OSError('reset')")
    answer = Response(200)
    assert ports.as_answer(answer) is answer and ports.as_answer(timeout) is timeout
    broken = ports.as_answer((200, "null"))
    assert (broken.kind, broken.message) == ("invalid", "the transport gave tuple, not a Response")
