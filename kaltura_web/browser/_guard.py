"""The one door from JavaScript into the SDK's Python.

Every event listener, timer and lock callback the SDK hands to JS (they are
made by ``_proxies.ProxyOwner``) and every task it spawns (``_timers.spawn``)
runs inside ``guard`` / ``guard_task``: an exception of the SDK's own code
never reaches the page.  It becomes a diagnostic with the code ``sdk-error``
(``tracker.diagnose``), or, when there is no tracker yet (``start()`` itself
failed), a console error and a ``kaltura-web:error`` event on window.

Only this module catches ``Exception`` on behalf of JS callers; the few other
``except`` clauses in the browser edge are browser APIs that legitimately
fail (a storage quota, a missing Web Locks API), each reported with its own
code.  On MicroPython a *synchronous JS* throw is not catchable here (it
unwinds through the interpreter): risky JS calls go through
``_convert.call_js``.
"""

from ..core import diagnostics as diag
from . import _env


def report(tracker, where, exc, code=diag.SDK_ERROR):
    """Record that ``where`` failed with ``exc``."""
    details = {"where": where, "error": repr(exc)}
    if tracker is None:
        _env.page_error("kaltura_web: %s failed: %r" % (where, exc), details)
    else:
        tracker.diagnose(code, where + " failed", details)


def guard(fn, tracker=None, where="callback", code=diag.SDK_ERROR):
    """``fn`` wrapped so that an exception is reported (``report``) instead of
    raised; the wrapper returns ``fn``'s result, or None after a failure."""

    def guarded(*args):
        try:
            return fn(*args)
        except Exception as exc:
            report(tracker, where, exc, code)
        return None

    return guarded


async def guard_task(awaitable, tracker=None, where="task"):
    """Await ``awaitable``; an exception is reported instead of raised."""
    try:
        return await awaitable
    except Exception as exc:
        report(tracker, where, exc)
    return None
