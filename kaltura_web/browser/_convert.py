"""Values crossing between JavaScript and Python.

========================  ===============================  ==========================================
what                      Pyodide                          MicroPython 1.28 (webassembly, PyScript)
========================  ===============================  ==========================================
JS null / undefined       ``None`` / ``jsnull`` (newer)    ``None`` / an ``undefined`` object
                                                           (truthy!)
dict -> JS object         ``to_js(dict_converter=...)``    ``jsffi.to_js`` (makes plain objects)
awaiting                  promises and coroutines have     coroutines are generators (no
                          ``__await__``                    ``__await__``); promises are awaitable
JS exceptions             raise ``JsException`` in Python  a synchronous throw is NOT catchable in
                                                           Python: risky calls go through ``call_js``
JS integers               any size                         converted through int32: read large
                                                           integers (``Date.now()``) as floats only
========================  ===============================  ==========================================

Each function is chosen for the runtime once, at import (``_runtime``).
"""

from . import csp
from ._runtime import IN_BROWSER, IS_MICROPYTHON, JsException, js, jsffi, need_browser, pyffi

if pyffi is not None:
    _JSNULL = getattr(pyffi, "jsnull", None)

    def is_nullish(value):
        """True for JS null and undefined (and Python None)."""
        return value is None or value is _JSNULL

    def to_js(value):
        """Python dict/list/scalars -> plain JS objects/arrays."""
        return pyffi.to_js(value, dict_converter=js.Object.fromEntries)

elif IS_MICROPYTHON:
    def is_nullish(value):
        """True for JS null and undefined (and Python None)."""
        return value is None or type(value).__name__ == "undefined"

    def to_js(value):
        """Python dict/list/scalars -> plain JS objects/arrays."""
        need_browser()
        return jsffi.to_js(value) if jsffi is not None else value

else:
    def is_nullish(value):
        """True for Python None (there is no JS here)."""
        return value is None

    def to_js(value):
        """Python dict/list/scalars -> plain JS objects/arrays."""
        need_browser()
        return value


def _is_promise(value):
    return (not is_nullish(value) and not isinstance(value, (str, int, float, bool))
            and hasattr(value, "then"))


if IS_MICROPYTHON:
    def is_awaitable(value):
        """A JS promise or a Python coroutine (on MicroPython: a generator)."""
        return _is_promise(value) or hasattr(value, "__await__") or type(value).__name__ == "generator"
else:
    def is_awaitable(value):
        """A JS promise or a Python coroutine."""
        return _is_promise(value) or hasattr(value, "__await__")


def attribute(el, name):
    """The text of an element's attribute ``name``; None when the element or the attribute is missing."""
    if is_nullish(el):
        return None
    value = el.getAttribute(name)
    return None if is_nullish(value) else str(value)


async def resolve(value):
    """Await ``value`` if it is a JS promise (or a Python awaitable)."""
    if is_awaitable(value):
        return await value
    return value


# (o, m, a) -> [true, o[m](...a)] or [false, the exception]
CALL_JS = "(function (o, m, a) { try { return [true, o[m].apply(o, a)]; } catch (e) { return [false, e]; } })"
JS_SOURCES = (CALL_JS,)  # csp.py

if IS_MICROPYTHON and IN_BROWSER:
    # a synchronous JS throw unwinds straight through MicroPython (no ``except``
    # sees it), so the call is made by a JS wrapper that returns the exception
    _CALL = csp.js_value(CALL_JS)

    def call_js(obj, method, *args):
        """``obj.method(*args)``; a JS exception becomes ``JsException``."""
        result = _CALL(obj, method, to_js(list(args)))
        if result[0]:
            return result[1]
        err = result[1]
        name = "Error" if is_nullish(err) else getattr(err, "name", "Error")
        raise JsException(str(name) + ": " + str(getattr(err, "message", err)))
else:
    def call_js(obj, method, *args):
        """``obj.method(*args)``; a JS exception becomes ``JsException``
        (``localStorage.setItem`` when the quota is full, for instance)."""
        return getattr(obj, method)(*args)
