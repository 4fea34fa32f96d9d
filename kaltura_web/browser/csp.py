"""The SDK's own JavaScript under a Content-Security-Policy without 'unsafe-eval'.

A few pieces of the browser edge are JavaScript kept as text in Python (the
timeupdate gate, the DOM watcher, MicroPython's call wrapper) and made into
values with ``js.eval``, which a policy without 'unsafe-eval' refuses.
``js_value(source)`` is ``js.eval(source)`` unless the page has the value
already: ``make dist`` writes every source a browser module lists in its
``JS_SOURCES`` into an ES module (kaltura-web-js.<hash>.mjs, tools/build_dist.py)
that the dist loader imports from the page's origin before Python runs.  That
module sets ``globalThis[TABLE]``, a Map from each source text to its value.
The text itself is the key, so a table built from other sources is never used
for these: a source missing from it is evaluated, and a strict policy then
refuses it (the dist pages' reporter names ``script-src``).

A module moves to this by listing its sources (every variant any runtime makes)
in ``JS_SOURCES`` and calling ``csp.js_value(SOURCE)`` where it called
``js.eval(SOURCE)``.
"""

from ._runtime import js

TABLE = "kalturaWebJs"  # globalThis[TABLE]: Map(source text -> value), made by make dist's module


def precompiled(source):
    """The value the page's table holds for ``source``, or None when it has none."""
    if js is None or not js.Reflect.has(js.globalThis, TABLE):
        return None
    table = js.Reflect.get(js.globalThis, TABLE)
    if not table.has(source):
        return None
    return table.get(source)


def js_value(source):
    """The JavaScript value of the expression ``source``: the page's precompiled
    one when it has it, else ``js.eval(source)`` (which needs 'unsafe-eval')."""
    value = precompiled(source)
    return js.eval(source) if value is None else value
