"""Which Python runs this page, decided once when the package is imported.

Three runtimes load ``kaltura_web.browser``:

- **Pyodide** (plain, or PyScript ``<script type="py">``): ``js`` and ``pyodide.ffi``;
- **MicroPython 1.28** (PyScript ``<script type="mpy">``): ``js`` and ``jsffi``;
- **plain CPython** (tests, tools): no ``js``; ``IN_BROWSER`` is False and what
  needs a page raises ``RuntimeError`` (``need_browser``).

The sibling modules pick their implementation for the runtime found here at
import time (``if pyffi is not None: def ...``), never per call.  Only this
module imports ``js``, ``pyodide`` and ``jsffi``.  The MicroPython flag is the
core's (``kaltura_web.core._compat.IS_MICROPYTHON``): there is one.
"""

from ..core._compat import IS_MICROPYTHON

try:
    import js  # Pyodide, PyScript and MicroPython webassembly all provide it
except ImportError:  # plain CPython
    js = None

IN_BROWSER = js is not None

pyffi = None  # pyodide.ffi (Pyodide)
jsffi = None  # jsffi (MicroPython webassembly)
if IN_BROWSER and IS_MICROPYTHON:
    try:
        import jsffi
    except ImportError:
        jsffi = None
elif IN_BROWSER:
    try:
        import pyodide.ffi as pyffi
    except ImportError:
        pyffi = None

IN_PYODIDE = pyffi is not None

if IS_MICROPYTHON:
    NAME = "micropython"
elif IN_BROWSER:
    NAME = "pyodide"
else:
    NAME = "cpython"


class _NoJsException(Exception):
    """Stands for JS exceptions where there is no JS (plain CPython)."""


if pyffi is not None:
    JsException = pyffi.JsException
elif jsffi is not None:
    JsException = jsffi.JsException
else:
    JsException = _NoJsException


def need_browser():
    """Raise ``RuntimeError`` unless a page is there."""
    if not IN_BROWSER:
        raise RuntimeError("kaltura_web.browser needs a browser runtime (Pyodide, PyScript or "
                           "MicroPython webassembly); on CPython use kaltura_web.cpython")
