"""The build tools of what pages load: the MicroPython bundle (tools/build_mpy.py, unpacked by
tools/mpy_bundle_head.py, on CPython and on MicroPython in Node) and the page wheel
(tools/build_page_wheel.py)."""

import ast
import base64
import hashlib
import json
import pathlib
import runpy
import shutil
import struct
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_mpy  # noqa: E402
import build_page_wheel  # noqa: E402

UNPACK = runpy.run_path(str(ROOT / "tools" / "mpy_bundle_head.py"))["_kaltura_web_unpack"]
VECTORS = sorted(str(p) for p in (ROOT / "tests" / "vectors").glob("*.json"))
NODE = shutil.which("node")


def _page_module_names():
    """Paths (inside the package) of the modules a page needs, but the package's __init__."""
    return sorted(name[len("kaltura_web/"):] + ".mpy" for _, name in build_mpy.modules()[1:])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A bundle built from the tree, zlib-packed as `make setup` builds it."""
    return build_mpy.build(tmp_path_factory.mktemp("mpy") / "kaltura_web.mpy")


def _as_page_does(tmp_path, data):
    """``data`` written where a page's files config puts it: <tmp>/kaltura_web/__init__.mpy."""
    head = tmp_path / "kaltura_web" / "__init__.mpy"
    head.parent.mkdir(parents=True)
    head.write_bytes(data)
    return head


def _written(tmp_path):
    return sorted(str(p.relative_to(tmp_path / "kaltura_web")) for p in (tmp_path / "kaltura_web").rglob("*.mpy"))


# --- the MicroPython bundle on CPython ----------------------------------------------------------

@pytest.mark.parametrize("packing", [build_mpy.ZLIB, build_mpy.STORED])
def test_the_bundle_unpacks_into_exactly_the_compiled_modules(tmp_path, packing):
    """Built then unpacked by its own head's code, the bundle yields each page module's mpy-cross output, byte for byte."""
    built = build_mpy.build(tmp_path / "out" / "kaltura_web.mpy", packing)
    head = _as_page_does(tmp_path / "page", built.read_bytes())
    UNPACK(str(head))
    names = _page_module_names()
    assert _written(tmp_path / "page") == sorted(names + ["__init__.mpy"])
    sources = {name[len("kaltura_web/"):] + ".mpy": source for source, name in build_mpy.modules()}
    for name in names:
        expected = build_mpy.compile_mpy(sources[name], "kaltura_web/" + name[:-4], tmp_path)
        assert (tmp_path / "page" / "kaltura_web" / name).read_bytes() == expected, name
    assert head.read_bytes()[:2] == b"M\x06"  # the head itself is an .mpy (version 6) MicroPython loads


def test_zlib_packing_makes_the_bundle_smaller_than_stored(tmp_path, bundle):
    """The shipped (zlib) bundle is at most 70% of the same modules stored as they are."""
    stored = build_mpy.build(tmp_path / "stored.mpy", build_mpy.STORED)
    assert bundle.stat().st_size < 0.7 * stored.stat().st_size


def _trailer(data):
    size = struct.calcsize(build_mpy.TRAILER)
    return list(struct.unpack(build_mpy.TRAILER, data[-size:])), size


def _with_trailer(data, fields):
    size = _trailer(data)[1]
    return data[:-size] + struct.pack(build_mpy.TRAILER, *fields)


DAMAGES = {
    "truncated": (lambda d: d[:-1], "no bundle trailer"),
    "cut in the middle": (lambda d: d[:len(d) // 2] + d[-32:], "the trailer says"),
    "padded": (lambda d: d + b"\0", "no bundle trailer"),
    "no trailer at all": (lambda d: d[:_trailer(d)[0][0]], "no bundle trailer"),
    "a byte of the modules flipped": (
        lambda d: d[:-100] + bytes([d[-100] ^ 0x55]) + d[-99:], "damaged"),
    "wrong entry count": (lambda d: _with_trailer(d, _trailer(d)[0][:4] + [_trailer(d)[0][4] + 1] + _trailer(d)[0][5:]),
                          "entries, the trailer says"),
    "wrong checksum": (lambda d: _with_trailer(d, _trailer(d)[0][:3] + [_trailer(d)[0][3] ^ 1] + _trailer(d)[0][4:]),
                       "checksum mismatch"),
    "unknown packing": (lambda d: _with_trailer(d, _trailer(d)[0][:5] + [3] + _trailer(d)[0][6:]),
                        "unknown packing 3"),
    "shorter than a trailer": (lambda d: d[:10], "shorter than its trailer"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_bundle_is_refused_before_anything_is_written(tmp_path, bundle, damage):
    """Truncated, padded, flipped, or with a trailer that disagrees: ImportError naming the file and the rebuild, and no module written."""
    change, why = DAMAGES[damage]
    head = _as_page_does(tmp_path, change(bundle.read_bytes()))
    with pytest.raises(ImportError) as raised:
        UNPACK(str(head))
    message = str(raised.value)
    assert str(head) in message and "tools/build_mpy.py" in message and why in message, message
    assert _written(tmp_path) == ["__init__.mpy"]


@pytest.mark.parametrize("name", ["../escape.mpy", "/etc/x.mpy", "core//x.mpy", "core/./x.mpy", "core/x.py"])
def test_an_entry_outside_the_package_or_not_mpy_is_refused(tmp_path, name, packing=build_mpy.STORED):
    """A well-formed bundle whose entry names leave the package folder, or are not .mpy, is refused whole."""
    data = build_mpy.pack(b"HEAD", [("core/fine.mpy", b"M\x06fine"), (name, b"M\x06bad")], packing)
    head = _as_page_does(tmp_path, data)
    with pytest.raises(ImportError, match="bad entry name"):
        UNPACK(str(head))
    assert _written(tmp_path) == ["__init__.mpy"]


def test_pack_lays_entries_out_as_documented(tmp_path):
    """Stored packing: head, then per entry <H name length, name, <I data length, data, then the trailer's fields in order."""
    data = build_mpy.pack(b"HEAD", [("core/a.mpy", b"12345")], build_mpy.STORED)
    raw = struct.pack("<H", 10) + b"core/a.mpy" + struct.pack("<I", 5) + b"12345"
    import binascii
    assert data == b"HEAD" + raw + struct.pack("<IIIIII8s", 4, len(raw), len(raw), binascii.crc32(raw),
                                               1, 0, b"kwmpyb01")


# --- the MicroPython bundle on MicroPython -------------------------------------------------------

def _run_on_micropython(path, *vectors):
    if NODE is None or not (ROOT / "web/node_modules/@micropython").exists():
        pytest.fail("node and web/node_modules are required: run `make setup`")
    proc = subprocess.run([NODE, str(ROOT / "tests" / "micropython" / "run_bundle.mjs"), str(path), *vectors],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_bundle_unpacks_imports_and_passes_the_vectors_on_micropython(bundle):
    """On MicroPython 1.28 the bundle, as a page maps it, unpacks every page module, each imports, the vectors pass with that core, and the unpacked mark is set."""
    report = _run_on_micropython(bundle, *VECTORS)
    assert report["ok"], report["error"]
    assert report["file"].endswith("kaltura_web/__init__.mpy")
    assert report["unpacked"] == _page_module_names()
    assert report["imported"] == len(report["unpacked"]) - 1  # all but browser/auto, which starts the SDK
    assert report["vectors"] == [True] * len(VECTORS)
    assert report["marks"] == ["kaltura_web:unpacked"]


def test_a_damaged_bundle_fails_on_micropython_with_the_bundle_error(tmp_path, bundle):
    """On MicroPython a bundle with one flipped byte in its modules fails the import with the bundle's ImportError, and sets no mark."""
    data = bytearray(bundle.read_bytes())
    data[-100] ^= 0x55
    damaged = tmp_path / "damaged.mpy"
    damaged.write_bytes(bytes(data))
    report = _run_on_micropython(damaged)
    assert not report["ok"]
    assert "ImportError: kaltura_web: the MicroPython bundle" in report["error"], report["error"]
    assert "is damaged" in report["error"] and report["marks"] == []


# --- the page wheel ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page_wheel(tmp_path_factory):
    return build_page_wheel.build(tmp_path_factory.mktemp("wheel"))


def test_the_page_wheel_holds_exactly_the_page_modules(page_wheel):
    """The page wheel: kaltura_web/__init__.py, core/*.py, browser/*.py and its metadata, nothing else (no collector, CLI, plugin, CPython edge)."""
    pkg = ROOT / "kaltura_web"
    expected = {"kaltura_web/__init__.py"} | {
        "kaltura_web/%s/%s" % (folder, p.name) for folder in ("core", "browser") for p in (pkg / folder).glob("*.py")}
    dist_info = "kaltura_web-0.1.0.dist-info/"
    with zipfile.ZipFile(page_wheel) as zf:
        names = set(zf.namelist())
        assert names - {n for n in names if n.startswith(dist_info)} == expected
        assert {n for n in names if n.startswith(dist_info)} == {
            dist_info + n for n in ("METADATA", "WHEEL", "RECORD", "top_level.txt")}
        metadata = zf.read(dist_info + "METADATA").decode()
        wheel = zf.read(dist_info + "WHEEL").decode()
    assert page_wheel.name == "kaltura_web-0.1.0-py3-none-any.whl"
    assert "Name: kaltura_web\nVersion: 0.1.0\n" in metadata and "Requires-Dist" not in metadata
    assert "Root-Is-Purelib: true" in wheel and "Tag: py3-none-any" in wheel


def test_the_page_wheel_record_matches_its_files_and_the_build_is_reproducible(page_wheel, tmp_path):
    """RECORD lists every other file with its sha256 and size; building again gives the same bytes."""
    with zipfile.ZipFile(page_wheel) as zf:
        record = zf.read("kaltura_web-0.1.0.dist-info/RECORD").decode().splitlines()
        listed = {}
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            listed[name] = (digest, size)
        assert set(listed) == set(zf.namelist())
        for name in zf.namelist():
            if name.endswith("/RECORD"):
                assert listed[name] == ("", "")
                continue
            data = zf.read(name)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert listed[name] == ("sha256=" + digest, str(len(data))), name
    assert build_page_wheel.build(tmp_path).read_bytes() == page_wheel.read_bytes()


def test_the_page_wheel_installs_and_imports_on_cpython(page_wheel, tmp_path):
    """pip accepts the page wheel; the installed package is __init__, core and browser only, and imports."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(target), str(page_wheel)], check=True, timeout=120)
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import kaltura_web, kaltura_web.core, kaltura_web.browser\n"
            "print(kaltura_web.__file__, kaltura_web.browser.__file__, kaltura_web.__version__)" % str(target))
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=target, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(target / "kaltura_web" / "__init__.py"),
                                  str(target / "kaltura_web" / "browser" / "__init__.py"), "0.1.0"]
    assert {p.name for p in (target / "kaltura_web").iterdir()} - {"__pycache__"} == {"__init__.py", "core", "browser"}


def test_the_page_wheel_sources_keep_every_line_and_statement(page_wheel):
    """Each module in the page wheel has its source's line count, and every statement and expression on the same line as in the tree."""
    def lines(tree):
        return [(type(n).__name__, n.lineno) for n in ast.walk(tree) if hasattr(n, "lineno")]
    sizes = [0, 0]
    with zipfile.ZipFile(page_wheel) as zf:
        for name, source in build_page_wheel.page_modules():
            original = source.read_text(encoding="utf-8")
            shipped = zf.read(name).decode("utf-8")
            assert shipped.count("\n") == original.count("\n"), name
            assert lines(ast.parse(shipped)) == lines(ast.parse(original)), name
            sizes[0] += len(shipped)
            sizes[1] += len(original)
    assert sizes[0] < 0.8 * sizes[1]  # the comments and docstrings are gone


def test_strip_source_drops_comments_and_docstrings_only():
    """Comments go, docstrings become empty strings over the same lines; code, and strings that are not docstrings, stay."""
    source = ('"""Module doc\n\nmore."""\n'
              'X = "# not a comment"  # a comment\n'
              '# a whole-line comment\n'
              'def f(a):\n'
              '    """Doc."""\n'
              '    return a + 1  # trailing\n'
              'class C:\n'
              "    '''Doc\n    two lines.'''\n"
              '    y = """kept\nas is"""\n')
    out = build_page_wheel.strip_source(source)
    assert out == ('"""\n\n"""\n'
                   'X = "# not a comment"\n'
                   '\n'
                   'def f(a):\n'
                   '    """"""\n'
                   '    return a + 1\n'
                   'class C:\n'
                   '    """\n"""\n'
                   '    y = """kept\nas is"""\n')
    namespace = {}
    exec(compile(out, "stripped", "exec"), namespace)
    assert namespace["f"](1) == 2 and namespace["C"].y == "kept\nas is" and namespace["X"] == "# not a comment"
