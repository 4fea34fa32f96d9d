"""Every difference between Python-in-the-browser runtimes lives here.

The rest of ``kaltura_web.browser`` talks to the page only through these
helpers; Pyodide (plain or under PyScript ``<script type="py">``) and
MicroPython 1.28 (PyScript ``<script type="mpy">``) differ in:

========================  ===============================  ==========================================
what                      Pyodide                          MicroPython 1.28 (webassembly, PyScript)
========================  ===============================  ==========================================
callable -> JS function   ``pyodide.ffi.create_proxy``;    ``jsffi.create_proxy`` (or automatic); no
                          ``destroy()`` frees it           destroy: JS frees it by GC, so we pass a
                                                           trampoline and disarm it on destroy
JS null / undefined       ``None`` / ``jsnull`` (newer)    ``None`` / an ``undefined`` object
                                                           (truthy!)
dict -> JS object         ``to_js(dict_converter=...)``    ``jsffi.to_js`` (makes plain objects)
awaiting                  promises and coroutines have     coroutines are generators (no
                          ``__await__``                    ``__await__``); promises are awaitable
spawning                  ``asyncio.ensure_future``        ``asyncio.create_task`` only
JS exceptions             raise ``JsException`` in Python  a synchronous throw is NOT catchable in
                                                           Python: call risky JS through ``guarded``
JS integers               any size                         converted through int32: read large
                                                           integers (``Date.now()``) as floats only
clock / random            ``time.time``, ``os.urandom``    ``time.time`` (float ms precision);
                                                           no ``random.Random``, no ``os.urandom``
========================  ===============================  ==========================================

Proxies: a Python callable handed to JS (an event listener, a timer) is
wrapped in a proxy that Python owns and destroys.  ``ProxyOwner`` creates
them and destroys them all at once; ``live_proxies()`` counts proxies made
here and not destroyed yet (the leak test reads it).

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
_jsffi = None
if IN_BROWSER and not IS_MICROPYTHON:
    try:
        import pyodide.ffi as _pyffi
        IN_PYODIDE = True
    except ImportError:
        _pyffi = None
if IN_BROWSER and IS_MICROPYTHON:
    try:
        import jsffi as _jsffi
    except ImportError:
        _jsffi = None

if _pyffi is not None:
    JsException = _pyffi.JsException
elif _jsffi is not None:
    JsException = _jsffi.JsException
else:
    JsException = Exception

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
        return value is getattr(_pyffi, "jsnull", None)
    if IS_MICROPYTHON:
        return type(value).__name__ == "undefined"
    return False


class ProxyOwner:
    """Creates callable proxies and destroys them all on ``destroy()``.

    A proxy is what JS gets (addEventListener, setTimeout): on Pyodide a
    ``create_proxy`` PyProxy, on MicroPython a JS function around a
    disarmable trampoline (see ``_MicroProxy``)."""

    def __init__(self):
        self._proxies = []
        self._handles = []  # what destroy() acts on, parallel to _proxies

    def proxy(self, fn):
        """A JS-callable wrapper of ``fn`` owned by this owner."""
        _need_browser()
        if _pyffi is not None:
            p = handle = _pyffi.create_proxy(fn)
        else:
            handle = _MicroProxy(fn)
            p = handle.js_function
        self._proxies.append(p)
        self._handles.append(handle)
        _live[0] += 1
        return p

    def release(self, p):
        """Destroy one proxy of this owner (e.g. a timer that ran)."""
        for i in range(len(self._proxies)):
            if self._proxies[i] is p:
                handle = self._handles[i]
                del self._proxies[i]
                del self._handles[i]
                _destroy(handle)
                return

    def destroy(self):
        handles = self._handles
        self._proxies, self._handles = [], []
        for h in handles:
            _destroy(h)

    def __len__(self):
        return len(self._proxies)

    @property
    def proxies(self):
        return list(self._proxies)


def _destroy(handle):
    _live[0] -= 1
    try:
        handle.destroy()
    except Exception:
        pass


class _MicroProxy:
    """MicroPython: a JS function that calls ``fn`` until ``destroy()``.

    MicroPython turns a Python callable into a JS function itself and frees
    it only when JS garbage-collects that function; there is no explicit
    destroy.  So JS gets a small trampoline, and ``destroy()`` drops ``fn``
    (and everything its closure holds) at once: a stale reference left in JS
    then calls nothing.  ``js_function`` is the object handed to JS, the same
    one every time, so removeEventListener finds it."""

    def __init__(self, fn):
        cell = [fn]
        self._cell = cell

        def trampoline(*args):
            target = cell[0]
            if target is None:
                return None  # destroyed: a stale JS reference does nothing
            return target(*args)

        self.js_function = _jsffi.create_proxy(trampoline) if _jsffi is not None else trampoline

    def destroy(self):
        self._cell[0] = None

    @property
    def destroyed(self):
        return self._cell[0] is None


def to_js(value):
    """Python dict/list/scalars -> plain JS objects/arrays."""
    _need_browser()
    if _pyffi is not None:
        return _pyffi.to_js(value, dict_converter=js.Object.fromEntries)
    if _jsffi is not None:
        return _jsffi.to_js(value)  # dicts become plain objects, lists arrays
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


def is_awaitable(value):
    """A JS promise or a Python coroutine (MicroPython: a generator)."""
    if is_promise(value) or hasattr(value, "__await__"):
        return True
    return IS_MICROPYTHON and type(value).__name__ == "generator"


async def resolve(value):
    """Await ``value`` if it is a JS promise (or a Python awaitable)."""
    if is_awaitable(value):
        return await value
    return value


def typeof(value):
    _need_browser()
    if _pyffi is not None and isinstance(value, _pyffi.JsProxy):
        return value.typeof
    if _jsffi is not None and isinstance(value, _jsffi.JsProxy):
        return str(js.Reflect.apply(js.Function.new("v", "return typeof v"), None, to_js([value])))
    return type(value).__name__


def is_js_function(value):
    if _pyffi is not None:
        return isinstance(value, _pyffi.JsProxy) and value.typeof == "function"
    if _jsffi is not None:
        return isinstance(value, _jsffi.JsProxy) and typeof(value) == "function"
    return False


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


_eager = [0]


def spawn(coro):
    """Run a coroutine in the page's event loop without waiting for it.

    Inside ``eagerly()`` (the page is being hidden or unloaded) the
    coroutine runs up to its first ``await`` before this returns, so a
    ``fetch(..., {keepalive: true})`` is on its way even if no timer of this
    page ever runs again; otherwise it starts on the next turn of the loop."""
    import asyncio

    if _eager[0]:
        return _spawn_now(coro)
    if IS_MICROPYTHON:
        return asyncio.create_task(coro)
    return asyncio.ensure_future(coro)


def _spawn_now(coro):
    import asyncio

    if not IS_MICROPYTHON:
        try:  # Python 3.12+ (Pyodide): the first step runs inside the constructor
            return asyncio.Task(coro, loop=asyncio.get_event_loop(), eager_start=True)
        except TypeError:
            return asyncio.ensure_future(coro)
    # MicroPython's asyncio has no eager tasks: take the first step by hand.
    # The rest (reading the answer) is dropped: the page is going away, and a
    # record that was in fact accepted is sent again on the next load (the
    # collector keeps one per beacon id).
    try:
        coro.send(None)
    except StopIteration:
        pass
    except Exception:
        pass
    return None


class eagerly:
    """``with _ffi.eagerly(): sender.flush_keepalive()``: spawns inside start now."""

    def __enter__(self):
        _eager[0] += 1
        return self

    def __exit__(self, *exc):
        _eager[0] -= 1
        return False


def now():
    """Unix seconds as a float (the tracker's clock).

    ``time.time()`` is a float from ``Date.now()`` on both runtimes; never
    read ``js.Date.now()`` itself on MicroPython (int32 conversion)."""
    import time

    return float(time.time())


def now_ms():
    """Unix milliseconds as a float; use it instead of ``js.Date.now()``, which
    MicroPython passes through int32 and wraps."""
    return now() * 1000.0


class _Bits:
    """``getrandbits`` for MicroPython, whose ``random`` has no ``Random``
    class: the module's generator seeded once from ``crypto.getRandomValues``."""

    def __init__(self):
        import random

        seed = 0
        try:
            words = js.crypto.getRandomValues(js.Uint32Array.new(2))
            seed = (int(words[0]) & 0xFFFFFFFF) ^ (int(words[1]) << 16)
        except Exception:
            pass
        import time

        seed ^= int(time.time() * 1000) ^ int(js.Math.random() * 1073741824)
        random.seed(seed & 0x3FFFFFFF)
        self._random = random

    def getrandbits(self, k):
        if k <= 32:
            return self._random.getrandbits(k)
        out, have = 0, 0
        while have < k:
            n = min(32, k - have)
            out = (out << n) | self._random.getrandbits(n)
            have += n
        return out


def make_rng():
    """An object with ``getrandbits`` for the tracker's ids."""
    import random

    if hasattr(random, "Random"):
        try:
            import os

            seed = int.from_bytes(os.urandom(16), "big")
        except Exception:
            import time

            seed = int(time.time() * 1e6) ^ int(js.Math.random() * 2 ** 52)
        return random.Random(seed)
    return _Bits()


_guard_fn = [None]


def guarded(fn, *args):
    """Call the JS function ``fn(*args)``; a JS exception becomes ``JsException``.

    On MicroPython a synchronous JS throw unwinds straight through the
    interpreter (no ``except`` sees it), so risky calls (localStorage when
    full or disabled, ``new URL`` on bad input) go through a JS wrapper that
    returns the exception instead.  On Pyodide this is a plain call."""
    if not IS_MICROPYTHON:
        return fn(*args)
    wrapper = _guard_fn[0]
    if wrapper is None:
        wrapper = _guard_fn[0] = js.Function.new(
            "f", "a", "try { return [true, f.apply(null, a)]; } catch (e) { return [false, e]; }")
    result = wrapper(fn, to_js(list(args)))
    if result[0]:
        return result[1]
    err = result[1]
    name = getattr(err, "name", "Error") if not is_nullish(err) else "Error"
    raise JsException(str(name) + ": " + str(getattr(err, "message", err)))


def remove_listeners(listeners):
    """removeEventListener for each ``(target, name, proxy)``, never raising."""
    for target, name, proxy in listeners:
        try:
            target.removeEventListener(name, proxy)
        except Exception:
            pass


_method_guard = [None]


def guarded_call(obj, method, *args):
    """``obj.method(*args)`` with a JS exception turned into ``JsException`` on
    every runtime (``guarded`` for methods that need their ``this``, such as
    ``localStorage.setItem`` when the quota is full)."""
    if not IS_MICROPYTHON:
        return getattr(obj, method)(*args)
    wrapper = _method_guard[0]
    if wrapper is None:
        wrapper = _method_guard[0] = js.Function.new(
            "o", "m", "a", "try { return [true, o[m].apply(o, a)]; } catch (e) { return [false, e]; }")
    result = wrapper(obj, method, to_js(list(args)))
    if result[0]:
        return result[1]
    err = result[1]
    name = getattr(err, "name", "Error") if not is_nullish(err) else "Error"
    raise JsException(str(name) + ": " + str(getattr(err, "message", err)))


def dispatch(target, name, detail=None):
    """Dispatch a CustomEvent ``name`` (with ``detail``) on ``target``."""
    _need_browser()
    options = {"detail": detail} if detail is not None else {}
    target.dispatchEvent(js.CustomEvent.new(name, to_js(options)))
