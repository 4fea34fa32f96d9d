"""HTTP with the page's ``fetch``: form-encoded POST, CORS mode (so error
bodies can be read).  ``send`` answers a ``Response`` (status, the headers
CORS lets the page read, body) or, when no answer came, a
``TransportError``: ``timeout`` for an aborted or timed-out fetch,
``network`` for any other rejected fetch (offline, connection dropped, CORS
failure) or an opaque answer.

The only exceptions caught are the browser's own (``JsException``): a
rejected ``fetch`` is an outcome (the sender core retries), and a body that
breaks off while it is read leaves the answer to its status and headers (the
server has answered: sending again would store the beacons twice, Kaltura
de-duplicates nothing) with an ``answer-unreadable`` diagnostic to
``diagnose`` (``tracker.diagnose``, when given)."""

from ..core import diagnostics as diag
from ..core.ports import NETWORK, TIMEOUT, Response, Transport, TransportError
from ._convert import is_nullish, to_js
from ._runtime import JsException, js


def _failure(exc):
    """The TransportError for a rejected fetch."""
    text = "%s %s" % (getattr(exc, "name", ""), exc)
    kind = TIMEOUT if "AbortError" in text or "TimeoutError" in text else NETWORK
    return TransportError(kind, str(exc)[:200])


def _headers(resp):
    """The answer's readable headers, names in lower case ({} when it carries none)."""
    headers = getattr(resp, "headers", None)
    if is_nullish(headers):
        return {}
    pairs = getattr(js.Array, "from")(headers.entries())  # a JS array: both runtimes index it
    return dict((str(pairs[i][0]).lower(), str(pairs[i][1])) for i in range(int(pairs.length)))


class FetchTransport(Transport):
    """``fetch``: the function to call (default: the page's); ``diagnose(code,
    message, details)`` hears about answers whose body could not be read."""

    def __init__(self, fetch=None, diagnose=None):
        self._fetch = fetch
        self.diagnose = diagnose

    def _fetch_fn(self):
        return self._fetch if self._fetch is not None else js.fetch

    def options(self, request, keepalive=False):
        opts = {"method": request.method, "mode": "cors", "credentials": "omit",
                "cache": "no-store", "headers": dict(request.headers), "body": request.body}
        if keepalive:
            opts["keepalive"] = True
        return opts

    async def send(self, request, keepalive=False):
        try:
            resp = await self._fetch_fn()(request.url, to_js(self.options(request, keepalive)))
        except JsException as exc:
            return _failure(exc)
        status = int(resp.status)
        if not 100 <= status <= 599:  # an opaque answer: nothing can be read
            return TransportError(NETWORK, "opaque answer (status %d)" % status)
        try:
            body = str(await resp.text())
        except JsException as exc:  # the connection broke off mid-body
            body = ""
            if self.diagnose is not None:
                self.diagnose(diag.ANSWER_UNREADABLE, "answer body could not be read; judged by its status",
                              {"status": status, "queue": request.queue, "beacon": request.beacon_id,
                               "error": str(exc)[:200]})
        return Response(status, _headers(resp), body)
