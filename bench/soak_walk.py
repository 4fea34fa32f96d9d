"""What an object graph holds: the sizes of the lists, dicts, sets and tuples
reachable from some roots through the SDK's own objects, by path.

The soak benchmark (bench/soak.py) reads it on CPython and, injected into the
soak pages as source, inside Pyodide and MicroPython 1.28, so it is plain
Python that all three run: no annotations, no f-strings, no module beyond
``sys``.

``held(roots, classes)`` walks from each ``(name, object)`` root: an instance
of one of ``classes`` is entered attribute by attribute (``__dict__``, or
``__slots__`` where there is no ``__dict__``); a list, dict or set is
measured with ``len`` and entered element by element (dict values only); a
tuple is a record, never entered, and measured only when an attribute holds
it.  Anything else (a JavaScript object, a function, a string, a number)
ends the path.  An object reached twice is counted at its first path only,
so the sizes add up.  Paths look like ``kw.tracker.engine.queues[].items``:
``[]`` stands for "each element of", and the sizes of every element at one
path are summed."""

import sys

CONTAINERS = (list, tuple, dict, set)
MAX_NODES = 50000  # a bound on the walk, whatever the graph


def classes_of(prefix="kaltura_web"):
    """Every class defined at the top level of the imported modules whose name
    starts with ``prefix``."""
    found = set()
    for name in list(sys.modules):
        if name != prefix and not name.startswith(prefix + "."):
            continue
        module = sys.modules[name]
        space = getattr(module, "__dict__", None)
        if not space:
            continue
        for value in list(space.values()):
            if isinstance(value, type):
                found.add(value)
    return found


def _attributes(obj):
    space = getattr(obj, "__dict__", None)
    if space is not None:
        return list(space.items())
    out = []
    for name in getattr(type(obj), "__slots__", ()):
        try:
            out.append((name, getattr(obj, name)))
        except AttributeError:
            pass
    return out


def held(roots, classes, depth=8, max_nodes=MAX_NODES):
    """``{path: total size}`` of the containers reachable from ``roots``
    (``[(name, object), ...]``) through instances of ``classes``, at most
    ``depth`` steps from a root and ``max_nodes`` objects in all (the key
    ``"(walk stopped)"`` is 1 when the bound was hit).  Breadth first, the
    attributes in name order: an object shared by two paths is counted at
    the shorter one, the same on every runtime."""
    sizes = {}
    seen = set()
    queue = [(obj, name, depth) for name, obj in roots]
    i = 0
    while i < len(queue):
        obj, path, left = queue[i]
        queue[i] = None  # the queue keeps nothing it no longer needs
        i += 1
        key = id(obj)
        if key in seen:
            continue
        container = isinstance(obj, CONTAINERS)
        if not container and type(obj) not in classes:
            continue
        seen.add(key)
        if len(seen) > max_nodes:
            sizes["(walk stopped)"] = 1
            break
        if container:
            sizes[path] = sizes.get(path, 0) + len(obj)
        if left <= 0:
            continue
        if container:
            inner = path + "[]"
            for value in (obj.values() if isinstance(obj, dict) else obj):
                # a tuple in a container is a record: one element of it, never entered
                # (a list of a million of them costs one pass, not a million visits)
                if isinstance(value, CONTAINERS) and not isinstance(value, tuple) or type(value) in classes:
                    queue.append((value, inner, left - 1))
            continue
        for name, value in sorted(_attributes(obj), key=_first):
            child = path + "." + name
            if isinstance(value, tuple):
                sizes[child] = sizes.get(child, 0) + len(value)  # held directly: measured
            elif isinstance(value, CONTAINERS) or type(value) in classes:
                queue.append((value, child, left - 1))
    return sizes


def _first(pair):
    return pair[0]


def total(sizes):
    """Everything held, summed over the paths."""
    return sum(v for k, v in sizes.items() if k != "(walk stopped)")


def listeners(sizes):
    """Event listeners registered through the SDK's ``ProxyOwner``s (their
    ``_listeners`` lists)."""
    return sum(v for k, v in sizes.items() if k.endswith("._listeners"))
