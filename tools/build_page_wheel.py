"""Builds web/dist/kaltura_web-0.1.0-py3-none-any.whl, the wheel Pyodide pages load:
only what runs in a page (kaltura_web/__init__.py, kaltura_web/core/,
kaltura_web/browser/), with plain metadata (no long description, no console
script or pytest plugin, whose modules are not in it, no dependencies).

Its modules are the package's sources without comments and docstrings, which a
page never reads (they are about 40% of the compressed bytes).  Every line
stays where it was, so a traceback in the browser names the same line as the
source tree, and the build checks that each module still parses to the same
syntax tree (docstrings aside).

The full wheel, for PyPI and CPython, is still ``pip wheel .`` (collector, CLI,
pytest plugin, CPython edge, README as description); this one has the same name
and version so that pages, micropip and ``importlib.metadata`` see the same
package.  The archive is reproducible: entries sorted, fixed timestamps.

Usage: python tools/build_page_wheel.py [OUT_DIR]   (default web/dist)
"""

import ast
import base64
import hashlib
import io
import pathlib
import re
import sys
import tokenize
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "web" / "dist"
PAGE_PACKAGES = ("core", "browser")
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def project():
    """name, version, description and requires-python of pyproject.toml's [project] table
    (read line by line: tomllib is not in Python 3.10, which the project supports)."""
    fields, section = {}, None
    for line in (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines():
        header = re.match(r"\s*\[([^\]]+)\]\s*$", line)
        if header:
            section = header.group(1).strip()
            continue
        match = re.match(r'\s*([A-Za-z-]+)\s*=\s*"([^"]*)"\s*$', line)
        if section == "project" and match:
            fields[match.group(1)] = match.group(2)
    missing = [k for k in ("name", "version") if k not in fields]
    if missing:
        raise SystemExit("pyproject.toml: [project] has no %s" % ", ".join(missing))
    return fields


def page_modules():
    """(path inside the wheel, source path) of every module a page needs, sorted."""
    pkg = ROOT / "kaltura_web"
    out = [("kaltura_web/__init__.py", pkg / "__init__.py")]
    for folder in PAGE_PACKAGES:
        for path in sorted((pkg / folder).glob("*.py")):
            out.append(("kaltura_web/%s/%s" % (folder, path.name), path))
    return out


def _docstrings(tree):
    """The docstring constants of a module, its classes and functions."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                yield first.value


def _shape(tree):
    """The tree as text, docstrings emptied: what must not change."""
    for constant in _docstrings(tree):
        constant.value = ""
    return ast.dump(tree)


def strip_source(source, name="<module>"):
    """``source`` without comments, and with each docstring replaced by an empty string
    spanning the same lines; a ValueError if the result is not the same program."""
    tree = ast.parse(source, name)
    docstrings = {(c.lineno, c.col_offset) for c in _docstrings(tree)}
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    edits = []  # (start offset, end offset, replacement)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        begin = starts[tok.start[0] - 1] + tok.start[1]
        end = starts[tok.end[0] - 1] + tok.end[1]
        if tok.type == tokenize.COMMENT:
            # the comment and the blanks before it (a comment always runs to the end of its line)
            line_start = starts[tok.start[0] - 1]
            while begin > line_start and source[begin - 1] in " \t":
                begin -= 1
            edits.append((begin, end, ""))
        elif tok.type == tokenize.STRING and tok.start in docstrings:
            edits.append((begin, end, '"""%s"""' % ("\n" * tok.string.count("\n"))))
    out = source
    for begin, end, text in sorted(edits, reverse=True):
        out = out[:begin] + text + out[end:]
    if out.count("\n") != source.count("\n") or _shape(ast.parse(out, name)) != _shape(tree):
        raise ValueError("%s: stripping comments and docstrings changed the program" % name)
    return out


def wheel_name(fields):
    return "%s-%s-py3-none-any.whl" % (re.sub(r"[-_.]+", "_", fields["name"]), fields["version"])


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def build(out_dir=DEFAULT_DIR):
    """Write the page wheel into ``out_dir``; returns its path."""
    fields = project()
    dist_info = "%s-%s.dist-info" % (re.sub(r"[-_.]+", "_", fields["name"]), fields["version"])
    metadata = ["Metadata-Version: 2.1", "Name: " + fields["name"], "Version: " + fields["version"]]
    if "description" in fields:
        metadata.append("Summary: " + fields["description"])
    if "requires-python" in fields:
        metadata.append("Requires-Python: " + fields["requires-python"])
    files = [(name, strip_source(source.read_text(encoding="utf-8"), name).encode("utf-8"))
             for name, source in page_modules()]
    files.append((dist_info + "/METADATA", ("\n".join(metadata) + "\n").encode()))
    files.append((dist_info + "/WHEEL", (
        "Wheel-Version: 1.0\nGenerator: kaltura_web tools/build_page_wheel.py\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n").encode()))
    files.append((dist_info + "/top_level.txt", b"kaltura_web\n"))
    record = [_record_line(name, data) for name, data in files] + [dist_info + "/RECORD,,"]
    files.append((dist_info + "/RECORD", ("\n".join(record) + "\n").encode()))

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / wheel_name(fields)
    partial = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=9)
    partial.replace(target)  # a page never loads a half-written wheel
    return target


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DIR))
