"""Builds the deployable folder of kaltura_web (`make dist`): every file a portal hosts to run
the SDK from its own origin or CDN, nothing from the local collector or a CDN.

    dist/portal/
      portal-mpy.html, portal-pyodide.html   sample pages, one per runtime (Cache-Control: no-cache)
      manifest.json                          each file's sha256, size, MIME type and cache header;
                                             per page the files it loads and its Content-Security-Policy
      kaltura-web-loader.<h>.mjs             starts the SDK on MicroPython or Pyodide (no PyScript)
      kaltura-web-js.<h>.mjs                 the SDK's own JavaScript, compiled from a file
                                             (kaltura_web/browser/csp.py)
      kaltura-csp.<h>.js                     names each directive a policy refuses (console, event)
      kaltura-snippet.<h>.js                 the early-event snippet, minified: the pages inline
                                             this text; its CSP hash is in the manifest
      kaltura_web.<h>.mpy                    the SDK for MicroPython (the Makefile's MPY_BUNDLE)
      kaltura_web-<h>/kaltura_web-*.whl      the SDK for Pyodide (the Makefile's WHEEL; a wheel
                                             keeps its file name, so its folder takes the hash)
      micropython-<h>/, pyodide-<h>/         the runtimes: the files the pages load, under their
                                             own names (they find each other by name)
      portal.<h>.css, test.<h>.webm          the sample pages' style sheet and video

<h> is the start of the SHA-256 of the content (for a folder: of its files' names and contents),
so a changed file has a new URL and everything but the pages and the manifest may be cached for
a year ("immutable").  The pages are made from tools/dist_templates/*.html: ``{{ name }}``
becomes the dist path of the file ``name`` (``micropython/micropython.mjs``, ``kaltura_web.whl``...)
and ``{{ inline:kaltura-snippet }}`` the minified snippet.  The Content-Security-Policy of the
pages is what e2e/test_dist_csp.py measured in Chromium; README, "Deploy on your portal",
explains each directive (``--readme`` rewrites its policy lines).

Usage: python tools/build_dist.py OUT --wheel WHL --mpy BUNDLE [--snippet JS] [--node-modules DIR]
       [--media WEBM] [--kaltura-hosts "https://www.kaltura.com https://analytics.kaltura.com"]
       python tools/build_dist.py --readme     (README's policy lines, after the snippet changed)
"""

import argparse
import base64
import hashlib
import importlib
import json
import pathlib
import pkgutil
import re
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "tools" / "dist_templates"
BROWSER = ROOT / "kaltura_web" / "browser"
HASH_CHARS = 10
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# where the SDK sends by default (core/tracker.py DEFAULT_SERVICE_URL and DEFAULT_ANALYTICS_URL)
KALTURA_HOSTS = "https://www.kaltura.com https://analytics.kaltura.com"

# by extension: a module script and WebAssembly's streaming compile refuse other types
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".mpy": "application/octet-stream",
    ".webm": "video/webm",
}

# what each runtime's interpreter loads (measured: the requests of the sample pages)
RUNTIMES = {
    "micropython": ("@micropython/micropython-webassembly-pyscript", ("micropython.mjs", "micropython.wasm")),
    "pyodide": ("pyodide", ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                            "pyodide-lock.json")),
}
PAGES = {"portal-mpy.html": "micropython", "portal-pyodide.html": "pyodide"}
RUNTIME_NAMES = {"micropython": "MicroPython", "pyodide": "Pyodide"}
README = ROOT / "README.md"
README_BEGIN = "<!-- dist-csp: made by `tools/build_dist.py --readme`; tests/test_build_dist.py checks it -->"
README_END = "<!-- /dist-csp -->"
README_POLICY_RE = re.compile(r"\(`([\w.-]+\.html)`\):\n\n```\nContent-Security-Policy: (.+)\n```")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
SNIPPET_MARK = "/* minified (inline this in <script> in <head>):\n"
# JavaScript the SDK makes from text at run time: each needs 'unsafe-eval' (csp.py's own fallback aside)
EVAL_RE = re.compile(r"\bjs\.eval\(|\bFunction\.new\(")


if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the SDK's sources, for its JavaScript (csp.py)


class BuildError(Exception):
    """An input is missing or not what the build expects."""


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def csp_hash(text):
    """The CSP source expression that allows an inline script whose text is ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-%s'" % base64.b64encode(digest).decode("ascii")


def hashed_name(name, data):
    """``kaltura-csp.js`` -> ``kaltura-csp.<hash of data>.js``."""
    stem, dot, ext = name.partition(".")
    return "%s.%s%s%s" % (stem, sha256_hex(data)[:HASH_CHARS], dot, ext)


def folder_hash(files):
    """The hash of a folder's files ({name: bytes}): their names and contents."""
    lines = "".join("%s %s\n" % (name, sha256_hex(files[name])) for name in sorted(files))
    return sha256_hex(lines.encode("utf-8"))[:HASH_CHARS]


def mime_type(path):
    ext = pathlib.PurePosixPath(path).suffix
    if ext not in MIME_TYPES:
        raise BuildError("no MIME type known for %s" % path)
    return MIME_TYPES[ext]


def minified_snippet(source):
    """The minified early-event snippet: the comment that closes web/kaltura-snippet.js."""
    if SNIPPET_MARK not in source:
        raise BuildError("the snippet source has no minified copy (%r)" % SNIPPET_MARK.strip())
    code = source.split(SNIPPET_MARK, 1)[1].split("*/", 1)[0].strip()
    if "kalturaWebQueue" not in code:
        raise BuildError("the minified snippet is empty or not the early-event snippet")
    return code


def sdk_js_sources(package="kaltura_web.browser"):
    """Every JavaScript source the browser modules list in ``JS_SOURCES`` (csp.py), in order, once."""
    pkg = importlib.import_module(package)
    out = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(package + "." + info.name)
        for source in getattr(module, "JS_SOURCES", ()):
            if not isinstance(source, str):
                raise BuildError("%s.JS_SOURCES holds %r, not a JavaScript text" % (module.__name__, source))
            if source not in out:
                out.append(source)
    return out


def js_module(sources, table):
    """An ES module that sets ``globalThis[table]`` to a Map from each source text to its value."""
    entries = "".join("  [%s,\n   %s],\n" % (json.dumps(s), s) for s in sources)
    return ("// kaltura_web's own JavaScript, compiled from this file instead of eval "
            "(kaltura_web/browser/csp.py; made by tools/build_dist.py)\n"
            "globalThis[%s] = new Map([\n%s]);\n" % (json.dumps(table), entries))


def eval_sites(folder=BROWSER):
    """``file:line`` of every place the browser edge makes JavaScript from text (csp.py aside)."""
    out = []
    for path in sorted(pathlib.Path(folder).glob("*.py")):
        if path.name == "csp.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if EVAL_RE.search(line):
                out.append("kaltura_web/browser/%s:%d" % (path.name, number))
    return out


def page_policies(snippet_source, kaltura_hosts=KALTURA_HOSTS):
    """{page: its Content-Security-Policy} for this snippet source and the SDK's sources today."""
    snippet_hash, needs_eval = csp_hash(minified_snippet(snippet_source)), bool(eval_sites())
    return {page: policy(snippet_hash, kaltura_hosts, needs_eval) for page in PAGES}


def readme_block(policies):
    """README's generated lines: each sample page's policy as one header line."""
    lines = [README_BEGIN]
    for page, runtime in PAGES.items():
        lines += ["%s (`%s`):" % (RUNTIME_NAMES[runtime], page), "", "```",
                  "Content-Security-Policy: " + policies[page], "```", ""]
    return "\n".join(lines + [README_END])


def readme_policies(text):
    """{page: policy} as README's generated block states them ({} without the block)."""
    if README_BEGIN not in text or README_END not in text:
        return {}
    block = text.split(README_BEGIN, 1)[1].split(README_END, 1)[0]
    return dict(README_POLICY_RE.findall(block))


def update_readme(snippet_source, readme=README):
    """Rewrite README's generated block (between its markers) with today's policies."""
    text = pathlib.Path(readme).read_text(encoding="utf-8")
    if text.count(README_BEGIN) != 1 or text.count(README_END) != 1:
        raise BuildError("%s needs one %s ... %s block" % (readme, README_BEGIN, README_END))
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    pathlib.Path(readme).write_text(head + readme_block(page_policies(snippet_source)) + tail, encoding="utf-8")


def policy(snippet_hash, kaltura_hosts=KALTURA_HOSTS, needs_eval=False):
    """The Content-Security-Policy of the sample pages, as measured in Chromium (README,
    "Deploy on your portal", says what each source is for)."""
    # 'unsafe-eval' allows compiling WebAssembly too: 'wasm-unsafe-eval' is that permission alone
    script = ["'self'", "'unsafe-eval'" if needs_eval else "'wasm-unsafe-eval'", snippet_hash]
    directives = [
        ("default-src", ["'none'"]),
        ("script-src", script),
        ("connect-src", ["'self'", kaltura_hosts]),
        ("style-src", ["'self'"]),
        ("media-src", ["'self'"]),
    ]
    return "; ".join(name + " " + " ".join(values) for name, values in directives)


class Dist:
    """The folder being built: files written under their dist paths and recorded for the manifest."""

    def __init__(self, out):
        self.out = pathlib.Path(out)
        self.files = {}  # dist path -> {"sha256", "bytes", "type", "cacheControl"}
        self.refs = {}   # template name -> dist path

    def write(self, path, data, cache=IMMUTABLE):
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.files[path] = {"sha256": sha256_hex(data), "bytes": len(data), "type": mime_type(path),
                            "cacheControl": cache}
        return path

    def add_file(self, ref, name, data):
        """One file under a content-hashed name."""
        self.refs[ref] = self.write(hashed_name(name, data), data)

    def add_folder(self, ref, prefix, files):
        """Files that keep their names, in ``<prefix>-<hash>/``; ``ref/name`` is each one's reference."""
        folder = "%s-%s" % (prefix, folder_hash(files))
        for name in sorted(files):
            self.refs["%s/%s" % (ref, name)] = self.write("%s/%s" % (folder, name), files[name])
        return folder


def read_files(folder, names):
    folder = pathlib.Path(folder)
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise BuildError("missing in %s: %s (run `make setup`)" % (folder, ", ".join(missing)))
    return {n: (folder / n).read_bytes() for n in names}


def render(template, refs, inline):
    """``template`` with each ``{{ name }}`` replaced, and the names of the files it refers to;
    an unknown name is an error."""
    used = []

    def replace(m):
        name = m.group(1)
        if name.startswith("inline:"):
            value = inline.get(name[len("inline:"):])
        else:
            value = refs.get(name)
            used.append(name)
        if value is None:
            raise BuildError("unknown placeholder {{ %s }}" % name)
        return value

    return PLACEHOLDER_RE.sub(replace, template), used


def loaded_files(dist, used):
    """The dist paths a page loads: the files it names, and every file of a runtime folder it
    names one of (the interpreter loads the others)."""
    paths = {dist.refs[n] for n in used}
    folders = {p.split("/", 1)[0] for p in paths if "/" in p}
    return sorted(paths | {p for p in dist.files if p.split("/", 1)[0] in folders})


def build(out, wheel, mpy_bundle, snippet, node_modules, media, kaltura_hosts=KALTURA_HOSTS,
          templates=TEMPLATES):
    """Build the folder ``out`` (replaced if it exists) and return its manifest."""
    out, node_modules, templates = pathlib.Path(out), pathlib.Path(node_modules), pathlib.Path(templates)
    inputs = [pathlib.Path(p) for p in (wheel, mpy_bundle, snippet, media)]
    missing = [str(p) for p in inputs if not p.is_file()]
    if missing:
        raise BuildError("missing: %s (run `make setup`)" % ", ".join(missing))
    wheel, mpy_bundle, snippet, media = inputs
    if mpy_bundle.suffix != ".mpy":
        raise BuildError("the MicroPython bundle must be one .mpy file (tools/build_mpy.py), not %s" % mpy_bundle)
    if out.exists():
        shutil.rmtree(out)
    dist = Dist(out)

    for runtime, (package, names) in RUNTIMES.items():
        dist.add_folder(runtime, runtime, read_files(node_modules / package, names))
    wheel_folder = dist.add_folder("wheel", "kaltura_web", {wheel.name: wheel.read_bytes()})
    dist.refs["kaltura_web.whl"] = "%s/%s" % (wheel_folder, wheel.name)
    dist.add_file("kaltura_web.mpy", "kaltura_web.mpy", mpy_bundle.read_bytes())

    from kaltura_web.browser.csp import TABLE

    dist.add_file("kaltura-web-js.mjs", "kaltura-web-js.mjs", js_module(sdk_js_sources(), TABLE).encode("utf-8"))
    code = minified_snippet(snippet.read_text(encoding="utf-8"))
    dist.add_file("kaltura-snippet.js", "kaltura-snippet.js", code.encode("utf-8") + b"\n")
    for name in ("kaltura-web-loader.mjs", "kaltura-csp.js", "portal.css"):
        dist.add_file(name, name, (templates / name).read_bytes())
    dist.add_file("sample/" + media.name, media.name, media.read_bytes())

    snippet_hash, policies = csp_hash(code), page_policies(snippet.read_text(encoding="utf-8"), kaltura_hosts)
    pages = []
    for page, runtime in PAGES.items():
        html, used = render((templates / page).read_text(encoding="utf-8"), dist.refs, {"kaltura-snippet": code})
        dist.write(page, html.encode("utf-8"), cache=REVALIDATE)
        pages.append({"path": page, "runtime": runtime, "loads": loaded_files(dist, used), "csp": policies[page]})

    manifest = {
        "about": "kaltura_web's deployable folder (make dist): serve every file with its type and "
                 "cacheControl, each page with its csp as the Content-Security-Policy header "
                 "(README, \"Deploy on your portal\")",
        "snippet": {"path": dist.refs["kaltura-snippet.js"], "cspHash": snippet_hash,
                    "note": "the pages inline this text exactly; any other byte changes the hash"},
        "unsafeEvalFor": eval_sites(),
        "pages": pages,
        "files": [dict(path=path, **info) for path, info in sorted(dist.files.items())],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", help="the folder to build (replaced)")
    parser.add_argument("--readme", action="store_true",
                        help="only rewrite README.md's generated policy lines (needs no build)")
    parser.add_argument("--wheel", help="the page wheel (the Makefile's WHEEL)")
    parser.add_argument("--mpy", help="the MicroPython bundle (the Makefile's MPY_BUNDLE)")
    parser.add_argument("--snippet", default=str(ROOT / "web" / "kaltura-snippet.js"))
    parser.add_argument("--node-modules", default=str(ROOT / "web" / "node_modules"))
    parser.add_argument("--media", default=str(ROOT / "web" / "media" / "test.webm"))
    parser.add_argument("--kaltura-hosts", default=KALTURA_HOSTS,
                        help="the origins beacons go to, for connect-src (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.readme:
        update_readme(pathlib.Path(args.snippet).read_text(encoding="utf-8"))
        print(readme_block(page_policies(pathlib.Path(args.snippet).read_text(encoding="utf-8"))))
        return 0
    if not (args.out and args.wheel and args.mpy):
        parser.error("give the folder to build, --wheel and --mpy (or only --readme)")
    try:
        manifest = build(args.out, args.wheel, args.mpy, args.snippet, args.node_modules, args.media,
                         args.kaltura_hosts)
    except BuildError as exc:
        print("build_dist: %s" % exc, file=sys.stderr)
        return 1
    files = {f["path"]: f["bytes"] for f in manifest["files"]}
    print("%s: %d files, %.1f MB" % (args.out, len(files), sum(files.values()) / 1e6))
    for page in manifest["pages"]:
        print("  %s loads %.2f MB; Content-Security-Policy: %s"
              % (page["path"], sum(files[p] for p in page["loads"]) / 1e6, page["csp"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
