"""Builds web/dist/kaltura_web-mpy.zip: the core (kaltura_web/core/) and the browser edge precompiled
to MicroPython bytecode (.mpy, mpy-cross 1.28) in one archive, so a MicroPython
page fetches one file and compiles nothing at import.  Nothing else of the
package (collector, CPython edge, CLI) goes in.

Usage: python tools/build_mpy.py [OUT_ZIP]
"""

import pathlib
import subprocess
import sys
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "web" / "dist" / "kaltura_web-mpy.zip"


def modules():
    """(source path, path inside the archive without extension) of what a page needs:
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


def build(out=DEFAULT_OUT):
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    compiler = mpy_cross()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for source, name in modules():
            target = pathlib.Path(tmp) / (name.replace("/", "_") + ".mpy")
            # -s names the source in tracebacks as it is inside the package
            subprocess.run([compiler, "-s", name + ".py", "-o", str(target), str(source)], check=True)
            zf.write(target, name + ".mpy")
    return out


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT))
