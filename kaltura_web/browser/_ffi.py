"""Every difference between Python-in-the-browser runtimes lives here.

The rest of ``kaltura_web.browser`` talks to the page only through these
helpers, so running the same edge under MicroPython (``<script type="mpy">``,
whose ``js`` module converts Python callables itself and has no
``pyodide.ffi``) means changing this one module.

Proxies: a Python callable handed to JS (an event listener, a timer) must be
wrapped in a proxy that Python owns and destroys, or it lives for ever.
``ProxyOwner`` creates them and destroys them all at once; ``live_proxies()``
counts proxies made here and not destroyed yet (the leak test reads it).

On plain CPython this module imports fine: ``IN_BROWSER`` is False and the
helpers that need a page raise ``RuntimeError``.
"""

import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    import js  # noqa: F401  (Pyodide, PyScript and MicroPython webassembly all provide it)
    IN_BROWSER = True
except ImportError:  # plain CPython
    js = None
    IN_BROWSER = False

IN_PYODIDE = False
_pyffi = None
if IN_BROWSER and not IS_MICROPYTHON:
    try:
        import pyodide.ffi as _pyffi
        IN_PYODIDE = True
    except ImportError:
        _pyffi = None

JsException = _pyffi.JsException if _pyffi is not None else Exception

_live = [0]  # proxies created by this module and not destroyed yet


def live_proxies():
    """How many proxies made through ``_ffi`` are still alive."""
    return _live[0]


def _need_browser():
    if not IN_BROWSER:
        raise RuntimeError("kaltura_web.browser needs a browser runtime (Pyodide, PyScript or "
                           "MicroPython webassembly); on CPython use kaltura_web.cpython")


def is_nullish(value):
    """True for JS null and undefined (and Python None)."""
    if value is None:
        return True
    if _pyffi is not None:
        return value is _pyffi.jsnull
    return False


class ProxyOwner:
    """Creates callable proxies and destroys them all on ``destroy()``."""

    def __init__(self):
        self._proxies = []

    def proxy(self, fn):
        """A JS-callable wrapper of ``fn`` owned by this owner."""
        _need_browser()
        if _pyffi is not None:
            p = _pyffi.create_proxy(fn)
        else:
            p = fn  # MicroPython converts a callable when it crosses into JS
        self._proxies.append(p)
        _live[0] += 1
        return p

    def release(self, p):
        """Destroy one proxy of this owner (e.g. a timer that ran)."""
        for i in range(len(self._proxies)):
            if self._proxies[i] is p:
                del self._proxies[i]
                _destroy(p)
                return

    def destroy(self):
        proxies, self._proxies = self._proxies, []
        for p in proxies:
            _destroy(p)

    def __len__(self):
        return len(self._proxies)

    @property
    def proxies(self):
        return list(self._proxies)


def _destroy(p):
    _live[0] -= 1
    if _pyffi is not None:
        try:
            p.destroy()
        except Exception:
            pass


def to_js(value):
    """Python dict/list/scalars -> plain JS objects/arrays."""
    _need_browser()
    if _pyffi is not None:
        return _pyffi.to_js(value, dict_converter=js.Object.fromEntries)
    return value


def to_py(value):
    """A JS value -> Python (objects become dicts)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "to_py"):
        return value.to_py()
    return value


def is_promise(value):
    return (not is_nullish(value) and not isinstance(value, (str, int, float, bool))
            and hasattr(value, "then"))


async def resolve(value):
    """Await ``value`` if it is a JS promise (or a Python awaitable)."""
    if is_promise(value) or hasattr(value, "__await__"):
        return await value
    return value


def typeof(value):
    _need_browser()
    if _pyffi is not None and isinstance(value, _pyffi.JsProxy):
        return value.typeof
    return type(value).__name__


def is_js_function(value):
    return _pyffi is not None and isinstance(value, _pyffi.JsProxy) and value.typeof == "function"


class Timers:
    """setTimeout with owned proxies: every timer's proxy is destroyed when it
    runs or is cancelled; ``cancel_all()`` clears the rest."""

    def __init__(self):
        self._owner = ProxyOwner()
        self._pending = {}

    def call_later(self, seconds, fn):
        """Run ``fn()`` after ``seconds``; returns an id for ``cancel``."""
        _need_browser()
        box = []

        def fire(*_):
            tid = box[0] if box else None
            entry = self._pending.pop(tid, None)
            if entry is not None:
                self._owner.release(entry)
            fn()

        p = self._owner.proxy(fire)
        tid = js.setTimeout(p, max(0, int(seconds * 1000)))
        box.append(tid)
        self._pending[tid] = p
        return tid

    def cancel(self, tid):
        p = self._pending.pop(tid, None)
        if p is not None:
            js.clearTimeout(tid)
            self._owner.release(p)

    def cancel_all(self):
        for tid in list(self._pending):
            self.cancel(tid)

    def __len__(self):
        return len(self._pending)


def spawn(coro):
    """Run a coroutine in the page's event loop without waiting for it."""
    import asyncio

    return asyncio.ensure_future(coro)


def dispatch(target, name, detail=None):
    """Dispatch a CustomEvent ``name`` (with ``detail``) on ``target``."""
    _need_browser()
    options = {"detail": detail} if detail is not None else {}
    target.dispatchEvent(js.CustomEvent.new(name, to_js(options)))
