"""The package's dependency rules, read from the sources (AST), so a wrong import fails `make test`.

    core       imports only core and the standard modules MicroPython 1.28 has
    js/pyodide only kaltura_web/browser/ imports them
    collector  never imports an SDK edge (cpython, browser), the CLI or the pytest plugin
    cpython    never imports browser, collector or the CLI; browser never cpython, collector or CLI
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "kaltura_web"

# standard modules that MicroPython 1.28 has and the core may use (toolchain.md)
MICROPYTHON_STDLIB = {"json", "math", "sys", "re", "binascii", "hashlib", "collections"}
BROWSER_ONLY = {"js", "pyodide", "pyscript", "pyodide_js"}
FORBIDDEN = {
    # folder -> packages it must not import
    "collector": {"cpython", "browser", "cli", "pytest_plugin"},
    "cpython": {"browser", "collector", "cli", "pytest_plugin"},
    "browser": {"cpython", "collector", "cli", "pytest_plugin"},
}


def _module_name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path, root):
    """(line, absolute module name) for every import in the file, nested ones included."""
    name = _module_name(path, root)
    is_pkg = path.name == "__init__.py"
    package = name.split(".") if is_pkg else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if node.module is None:
                # `from . import a, b`: each name may be a module
                for alias in node.names:
                    yield node.lineno, target + "." + alias.name
            else:
                yield node.lineno, target


def violations(root):
    """Every broken rule under ``root`` (a folder that holds the kaltura_web package)."""
    root = pathlib.Path(root)
    out = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        rel = path.relative_to(root / PACKAGE).parts
        area = rel[0] if len(rel) > 1 else None
        for line, target in _imports(path, root):
            where = "%s:%d imports %s" % (path.relative_to(root), line, target)
            top = target.split(".")[0]
            inside = target.split(".")[1] if top == PACKAGE and "." in target else None
            if top in BROWSER_ONLY and area != "browser":
                out.append(where + ": only kaltura_web/browser/ may import js/pyodide")
            if area == "core":
                if top == PACKAGE and inside != "core":
                    out.append(where + ": the core imports only the core")
                elif top != PACKAGE and top not in MICROPYTHON_STDLIB:
                    out.append(where + ": the core imports only standard modules MicroPython has")
            if area in FORBIDDEN and top == PACKAGE and inside in FORBIDDEN[area]:
                out.append(where + ": %s must not depend on %s" % (area, inside))
    return out


def test_package_keeps_its_dependency_rules():
    """The real tree breaks no layering rule."""
    assert violations(ROOT) == []


def _tree(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / PACKAGE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in ("", "core", "collector", "cpython", "browser"):
        (tmp_path / PACKAGE / folder / "__init__.py").touch()
    return tmp_path


def test_deliberate_violations_are_each_caught(tmp_path):
    """A core module importing an edge or urllib, js outside browser/, and a collector
    importing the CPython edge are each reported, with file and line."""
    root = _tree(tmp_path, {
        "core/bad_edge.py": "from ..cpython import store\n",
        "core/bad_stdlib.py": "import json\n\ndef f():\n    import urllib.request\n",
        "core/fine.py": "from . import catalog\nfrom .catalog import X\nimport math\n",
        "cpython/bad_js.py": "import js\n",
        "collector/bad_edge.py": "from ..cpython.store import SQLiteStore\nfrom ..core.catalog import X\n",
        "browser/fine.py": "import js\nfrom pyodide.ffi import create_proxy\nfrom ..core import tracker\n",
    })
    found = violations(root)
    assert found == [
        "kaltura_web/collector/bad_edge.py:1 imports kaltura_web.cpython.store: collector must not depend on cpython",
        "kaltura_web/core/bad_edge.py:1 imports kaltura_web.cpython: the core imports only the core",
        "kaltura_web/core/bad_stdlib.py:4 imports urllib.request: the core imports only standard modules MicroPython has",
        "kaltura_web/cpython/bad_js.py:1 imports js: only kaltura_web/browser/ may import js/pyodide",
    ]
