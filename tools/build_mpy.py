"""Builds web/dist/kaltura_web.mpy: the core (kaltura_web/core/) and the browser
edge precompiled to MicroPython bytecode (.mpy, mpy-cross 1.28) in one file that
a page maps to its package's ``__init__``::

    "files": {"/web/dist/kaltura_web.mpy": "./kaltura_web/__init__.mpy"}

The file is the compiled ``__init__`` (tools/mpy_bundle_head.py followed by
kaltura_web/__init__.py) with every other module appended, zlib-compressed, and
a checked trailer: the first import unpacks the modules next to it, then the
package's own ``__init__`` runs.  So a page fetches one file, PyScript needs no
archive library to unpack it, and MicroPython compiles nothing at import.
Nothing else of the package (collector, CPython edge, CLI) goes in.  The layout
is described in tools/mpy_bundle_head.py.

Usage: python tools/build_mpy.py [OUT]
"""

import binascii
import pathlib
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "web" / "dist" / "kaltura_web.mpy"
HEAD = pathlib.Path(__file__).resolve().parent / "mpy_bundle_head.py"
# must match tools/mpy_bundle_head.py (the tests unpack what this writes)
TRAILER = "<IIIIII8s"
MAGIC = b"kwmpyb01"
STORED, ZLIB = 0, 8


def modules():
    """(source path, path inside the package without extension) of what a page needs:
    the package's __init__, every module of the core and of the browser edge."""
    pkg = ROOT / "kaltura_web"
    out = [(pkg / "__init__.py", "kaltura_web/__init__")]
    for folder in ("core", "browser"):
        for path in sorted((pkg / folder).glob("*.py")):
            out.append((path, "kaltura_web/%s/%s" % (folder, path.stem)))
    return out


def mpy_cross():
    exe = pathlib.Path(sys.executable).with_name("mpy-cross")
    if not exe.exists():
        raise SystemExit("mpy-cross not found next to %s: install the test extras (make setup)" % sys.executable)
    return str(exe)


def compile_mpy(source, name, tmp):
    """``source`` (a path) compiled to .mpy bytes; ``name`` is the module's path in the
    package, which tracebacks show (mpy-cross -s)."""
    target = pathlib.Path(tmp) / (name.replace("/", "_") + ".mpy")
    subprocess.run([mpy_cross(), "-s", name + ".py", "-o", str(target), str(source)], check=True)
    return target.read_bytes()


def head_source():
    """The package's __init__ as the bundle runs it: the unpacker, a call to it, then
    kaltura_web/__init__.py unchanged."""
    return (HEAD.read_text(encoding="utf-8")
            + "\n\n_kaltura_web_unpack(__file__)\ndel _kaltura_web_unpack\n\n"
            + (ROOT / "kaltura_web" / "__init__.py").read_text(encoding="utf-8"))


def pack(head, entries, packing=ZLIB):
    """The bundle's bytes: ``head`` (the compiled __init__) followed by ``entries``
    (``[(name relative to the package folder, bytes), ...]``), stored or zlib-compressed
    (``packing``), and the trailer."""
    raw = b"".join(struct.pack("<H", len(name.encode())) + name.encode()
                   + struct.pack("<I", len(data)) + data for name, data in entries)
    packed = zlib.compress(raw, 9) if packing == ZLIB else raw
    trailer = struct.pack(TRAILER, len(head), len(packed), len(raw),
                          binascii.crc32(raw) & 0xFFFFFFFF, len(entries), packing, MAGIC)
    return head + packed + trailer


def build(out=DEFAULT_OUT, packing=ZLIB):
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        init = pathlib.Path(tmp) / "__init__.py"
        init.write_text(head_source(), encoding="utf-8")
        head = compile_mpy(init, "kaltura_web/__init__", tmp)
        entries = [(name[len("kaltura_web/"):] + ".mpy", compile_mpy(source, name, tmp))
                   for source, name in modules()[1:]]
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_bytes(pack(head, entries, packing))
    tmp_out.replace(out)  # a page never sees a half-written bundle
    return out


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT))
