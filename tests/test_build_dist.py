"""`make dist` (tools/build_dist.py): content hashes, the manifest, the references the pages make,
README's policy lines, and the SDK's precompiled JavaScript (kaltura_web/browser/csp.py) on
MicroPython in Node.  Builds run on small stand-in runtimes in a temporary folder; the real
folder, in Chromium under its policy, is e2e/test_dist_csp.py's."""

import base64
import hashlib
import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_dist  # noqa: E402

SNIPPET = ROOT / "web" / "kaltura-snippet.js"
NODE = shutil.which("node")
MICROPYTHON = ROOT / "web" / "node_modules" / "@micropython" / "micropython-webassembly-pyscript" / "micropython.mjs"
LOCAL_REF = re.compile(r'(?:src|href)="([^"]+)"|"(?:interpreter|sdk|js)": "([^"]+)"')


def _inputs(root, bundle=b"bundle v1"):
    """Stand-ins for what the Makefile passes: runtimes under node_modules, a wheel, a bundle, a video."""
    node_modules = root / "node_modules"
    for package, names in build_dist.RUNTIMES.values():
        folder = node_modules / package
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).write_bytes(("%s of %s" % (name, package)).encode())
    (node_modules / "pyodide" / "README.md").write_text("not loaded by a page")
    wheel = root / "kaltura_web-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel v1")
    mpy = root / "kaltura_web.mpy"
    mpy.write_bytes(bundle)
    media = root / "test.webm"
    media.write_bytes(b"webm")
    return dict(wheel=wheel, mpy_bundle=mpy, snippet=SNIPPET, node_modules=node_modules, media=media)


def _build(root, out="dist", **changes):
    inputs = _inputs(root)
    inputs.update(changes)
    manifest = build_dist.build(root / out, **inputs)
    return root / out, manifest


@pytest.fixture
def built(tmp_path):
    return _build(tmp_path)


def test_csp_hash_matches_the_specifications_example():
    """The hash source of CSP's own example script is the one the specification prints."""
    assert build_dist.csp_hash("alert('Hello, world.');") == "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"


def test_hashed_names_follow_the_content():
    """A file's name carries the start of its SHA-256; same bytes, same name; one byte more, another name."""
    name = build_dist.hashed_name("kaltura-csp.js", b"x")
    assert name == "kaltura-csp.%s.js" % hashlib.sha256(b"x").hexdigest()[:build_dist.HASH_CHARS]
    assert build_dist.hashed_name("a.b.mjs", b"x").endswith(".b.mjs")
    assert build_dist.hashed_name("kaltura-csp.js", b"x") != build_dist.hashed_name("kaltura-csp.js", b"x ")


def test_a_folder_hash_covers_every_name_and_content_in_any_order():
    """Changing, renaming, adding a file changes the folder's hash; listing order does not."""
    files = {"a.mjs": b"1", "a.wasm": b"2"}
    base = build_dist.folder_hash(files)
    assert build_dist.folder_hash(dict(reversed(list(files.items())))) == base
    assert build_dist.folder_hash({"a.mjs": b"1", "a.wasm": b"3"}) != base
    assert build_dist.folder_hash({"b.mjs": b"1", "a.wasm": b"2"}) != base
    assert build_dist.folder_hash({**files, "c": b""}) != base


def test_every_file_is_in_the_manifest_with_its_hash_type_and_cache(built):
    """Each file on disk (but manifest.json) is listed with its sha256 and size; pages revalidate, the rest is immutable; .wasm and .mjs get their types."""
    out, manifest = built
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    files = {f["path"]: f for f in manifest["files"]}
    assert set(files) == on_disk
    for path, info in files.items():
        data = (out / path).read_bytes()
        assert (info["sha256"], info["bytes"]) == (hashlib.sha256(data).hexdigest(), len(data)), path
        want = build_dist.REVALIDATE if path.endswith(".html") else build_dist.IMMUTABLE
        assert info["cacheControl"] == want, path
        assert info["type"] == build_dist.MIME_TYPES[pathlib.PurePosixPath(path).suffix]
    assert files["micropython-" + _folder(files, "micropython") + "/micropython.wasm"]["type"] == "application/wasm"
    assert all(f["type"].startswith("text/javascript") for p, f in files.items() if p.endswith(".mjs"))
    assert not any(p.endswith("README.md") for p in files)  # only what the pages load


def _folder(files, prefix):
    return next(p.split("/")[0] for p in files if p.startswith(prefix + "-")).split("-", 1)[1]


def test_immutable_names_carry_their_content_hash(built):
    """Every immutable single file's name holds its own hash; a runtime folder's name the hash of its files."""
    out, manifest = built
    folders = {}
    for f in manifest["files"]:
        if f["cacheControl"] != build_dist.IMMUTABLE:
            continue
        if "/" in f["path"]:
            folder, name = f["path"].split("/")
            folders.setdefault(folder, {})[name] = (out / f["path"]).read_bytes()
        else:
            assert f["sha256"][:build_dist.HASH_CHARS] in f["path"], f["path"]
    assert set(n.split("-")[0] for n in folders) == {"micropython", "pyodide", "kaltura_web"}
    for folder, files in folders.items():
        assert folder.endswith("-" + build_dist.folder_hash(files)), folder


def _references(html):
    return [a or b for a, b in LOCAL_REF.findall(html)]


def test_pages_refer_only_to_files_of_the_folder(built):
    """No placeholder is left; every src/href and loader entry of a page is a file of the manifest, and the page's loads are those plus the runtime folder."""
    out, manifest = built
    files = {f["path"] for f in manifest["files"]}
    for page in manifest["pages"]:
        html = (out / page["path"]).read_text(encoding="utf-8")
        assert not build_dist.PLACEHOLDER_RE.search(html), build_dist.PLACEHOLDER_RE.search(html)
        refs = _references(html)
        assert refs and set(refs) <= files, set(refs) - files
        folder = {p for p in files if p.startswith(page["runtime"] + "-")}
        assert set(page["loads"]) == set(refs) | folder
        spec = json.loads(re.search(r'id="kaltura-web-runtime">(.*?)</script>', html, re.S).group(1))
        assert spec["runtime"] == page["runtime"]
        assert spec["sdk"].endswith(".mpy" if page["runtime"] == "micropython" else ".whl")


def test_the_pages_inline_the_snippet_the_manifest_hashes(built):
    """The inline script of each page is the minified snippet, byte for byte, and its hash is in the manifest and the page's policy."""
    out, manifest = built
    code = build_dist.minified_snippet(SNIPPET.read_text(encoding="utf-8"))
    assert (out / manifest["snippet"]["path"]).read_text(encoding="utf-8") == code + "\n"
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert manifest["snippet"]["cspHash"] == "'sha256-%s'" % digest
    for page in manifest["pages"]:
        inline = re.findall(r"<script>(.*?)</script>", (out / page["path"]).read_text(encoding="utf-8"), re.S)
        assert inline == [code]
        assert manifest["snippet"]["cspHash"] in page["csp"]
        assert "'unsafe-inline'" not in page["csp"]


def test_a_changed_input_renames_only_its_file(tmp_path):
    """Another MicroPython bundle: its file gets a new name and the MicroPython page refers to it; every other file keeps its name (and its cache)."""
    first_out, first = _build(tmp_path / "a")
    second_out, second = _build(tmp_path / "b", mpy_bundle=_bundle(tmp_path, b"bundle v2"))
    old = {f["path"] for f in first["files"]}
    new = {f["path"] for f in second["files"]}
    gone, came = old - new, new - old
    assert [p for p in gone if p.startswith("kaltura_web.")] == list(gone) and len(gone) == 1
    assert len(came) == 1 and came.pop() in (second_out / "portal-mpy.html").read_text(encoding="utf-8")
    assert (first_out / "portal-pyodide.html").read_text() == (second_out / "portal-pyodide.html").read_text()


def _bundle(tmp_path, data):
    path = tmp_path / "other" / "kaltura_web.mpy"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return path


def test_a_rebuild_replaces_the_folder(tmp_path):
    """Building again into the same folder leaves no file of the previous build behind."""
    out, _ = _build(tmp_path)
    (out / "stale.js").write_text("old")
    out, manifest = _build(tmp_path)
    assert not (out / "stale.js").exists()


def test_wrong_inputs_fail_with_a_message(tmp_path):
    """A missing input, a .zip bundle, a missing runtime file and an unknown placeholder are BuildErrors."""
    inputs = _inputs(tmp_path)
    with pytest.raises(build_dist.BuildError, match="missing"):
        build_dist.build(tmp_path / "o1", **{**inputs, "wheel": tmp_path / "none.whl"})
    zipped = tmp_path / "kaltura_web-mpy.zip"
    zipped.write_bytes(b"zip")
    with pytest.raises(build_dist.BuildError, match="one .mpy file"):
        build_dist.build(tmp_path / "o2", **{**inputs, "mpy_bundle": zipped})
    (inputs["node_modules"] / "pyodide" / "pyodide.asm.wasm").unlink()
    with pytest.raises(build_dist.BuildError, match="pyodide.asm.wasm"):
        build_dist.build(tmp_path / "o3", **inputs)
    with pytest.raises(build_dist.BuildError, match="nope"):
        build_dist.render("<script src=\"{{ nope }}\">", {}, {})


def test_the_policy_has_unsafe_eval_exactly_while_the_sdk_evaluates_text(tmp_path):
    """eval_sites finds js.eval and Function.new outside csp.py; the policy takes 'unsafe-eval' with them and 'wasm-unsafe-eval' without."""
    (tmp_path / "gate.py").write_text("x = 1\n_factory[0] = js.eval(FACTORY_JS)\n")
    (tmp_path / "conv.py").write_text("CALL = js.Function.new('a', 'return a')\n")
    (tmp_path / "csp.py").write_text("return js.eval(source)\n")
    assert build_dist.eval_sites(tmp_path) == ["kaltura_web/browser/conv.py:1", "kaltura_web/browser/gate.py:2"]
    assert build_dist.eval_sites(tmp_path / "empty") == []
    with_eval = build_dist.policy("'sha256-x'", needs_eval=True)
    assert "'unsafe-eval'" in with_eval and "'wasm-unsafe-eval'" not in with_eval
    without = build_dist.policy("'sha256-x'", needs_eval=False)
    assert "script-src 'self' 'wasm-unsafe-eval' 'sha256-x';" in without and "'unsafe-eval'" not in without
    assert "connect-src 'self' %s;" % build_dist.KALTURA_HOSTS in without


def test_readme_states_the_policies_make_dist_writes():
    """README's generated lines, under "## Deploy on your portal", are today's policies: run tools/build_dist.py --readme after the snippet or the SDK's eval sites change."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.index("\n## Deploy on your portal\n")
    assert section < text.index(build_dist.README_BEGIN) < text.index(build_dist.README_END) < \
        text.index("\n## ", section + 1)
    policies = build_dist.page_policies(SNIPPET.read_text(encoding="utf-8"))
    assert build_dist.readme_policies(text) == policies, \
        "README's Content-Security-Policy lines are out of date: run .venv/bin/python tools/build_dist.py --readme"
    assert all(("Content-Security-Policy: " + p) in text.splitlines() for p in policies.values())


def test_update_readme_rewrites_only_the_block(tmp_path):
    """--readme replaces the lines between the markers and nothing else."""
    readme = tmp_path / "README.md"
    readme.write_text("intro\n%s\nold\n%s\nrest\n" % (build_dist.README_BEGIN, build_dist.README_END))
    build_dist.update_readme(SNIPPET.read_text(encoding="utf-8"), readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\nrest\n") and "old" not in text
    assert build_dist.readme_policies(text) == build_dist.page_policies(SNIPPET.read_text(encoding="utf-8"))


def test_sdk_js_sources_collects_every_modules_js_sources(tmp_path, monkeypatch):
    """Each module's JS_SOURCES in module order, a text listed twice once; a non-text is a BuildError."""
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "b_gate.py").write_text("JS_SOURCES = ('(function () { return 2; })', '(function () { return 1; })')\n")
    (pkg / "a_watch.py").write_text("JS_SOURCES = ['(function () { return 1; })']\n")
    (pkg / "c_none.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert build_dist.sdk_js_sources("fakepkg") == ["(function () { return 1; })", "(function () { return 2; })"]
    (pkg / "d_bad.py").write_text("JS_SOURCES = [3]\n")
    with pytest.raises(build_dist.BuildError, match="JS_SOURCES"):
        build_dist.sdk_js_sources("fakepkg")


def _node(script, tmp_path):
    if NODE is None:
        pytest.fail("node not found (make setup installs it)", pytrace=False)
    path = tmp_path / "run.mjs"
    path.write_text(script)
    done = subprocess.run([NODE, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().split("\n")[-1])


SOURCES = ["(function (a) { return a + 41; })", '(function () { return "</script> \\u2028"; })']


def test_the_js_module_maps_each_source_text_to_its_value(tmp_path):
    """Imported in Node, the generated module sets globalThis.kalturaWebJs: each source text -> the function it is."""
    module = tmp_path / "kaltura-web-js.mjs"
    module.write_text(build_dist.js_module(SOURCES, "kalturaWebJs"))
    seen = _node("await import(%s);\nconst m = globalThis.kalturaWebJs;\n"
                 "console.log(JSON.stringify({keys: [...m.keys()], a: m.get(%s)(1), b: m.get(%s)()}));\n"
                 % (json.dumps(str(module)), json.dumps(SOURCES[0]), json.dumps(SOURCES[1])), tmp_path)
    assert seen == {"keys": SOURCES, "a": 42, "b": "</script> \u2028"}


def test_csp_js_value_takes_the_precompiled_value_on_micropython(tmp_path):
    """kaltura_web/browser/csp.py on MicroPython 1.28 (Node): a source in the page's table is not evaluated, another one is."""
    files = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
             for folder in ("core", "browser") for p in (ROOT / "kaltura_web" / folder).glob("*.py")}
    files["kaltura_web/__init__.py"] = (ROOT / "kaltura_web" / "__init__.py").read_text(encoding="utf-8")
    (tmp_path / "files.json").write_text(json.dumps(files))
    script = """
import { readFileSync } from "node:fs";
const { loadMicroPython } = await import(%(mpy)s);
const mp = await loadMicroPython({stdout: (l) => process.stderr.write(l + "\\n")});
for (const [name, text] of Object.entries(JSON.parse(readFileSync(%(files)s, "utf8")))) {
  mp.FS.mkdirTree("/app/" + name.slice(0, name.lastIndexOf("/")));
  mp.FS.writeFile("/app/" + name, text);
}
const evaluated = [];
const realEval = globalThis.eval;
globalThis.eval = (s) => { evaluated.push(s); return realEval(s); };
globalThis.kalturaWebJs = new Map([[%(src)s, (a) => a + 41]]);
mp.runPython(`
import sys
sys.path.insert(0, "/app")
from kaltura_web.browser import csp
hit = csp.js_value(%(src)s)(1)
miss = csp.js_value("(function (a) { return a * 2; })")(4)
`);
console.log(JSON.stringify({hit: mp.globals.get("hit"), miss: mp.globals.get("miss"), evaluated}));
""" % {"mpy": json.dumps(str(MICROPYTHON)), "files": json.dumps(str(tmp_path / "files.json")),
       "src": json.dumps(SOURCES[0])}
    seen = _node(script, tmp_path)
    assert (seen["hit"], seen["miss"]) == (42, 8)
    assert SOURCES[0] not in seen["evaluated"] and "(function (a) { return a * 2; })" in seen["evaluated"]
