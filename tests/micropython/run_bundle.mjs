// Loads the MicroPython bundle (web/dist/kaltura_web.mpy, tools/build_mpy.py) on MicroPython 1.28
// (WebAssembly, in Node) as a page does: the file becomes kaltura_web/__init__.mpy and the first
// import unpacks the rest.  Then imports every unpacked module (but browser.auto, which starts the
// SDK on a page) and runs the given conformance vectors with the core the bundle unpacked.
// Prints one JSON line: {"ok", "error", "file", "unpacked": [...], "imported", "marks", "vectors"}.
// Usage: node tests/micropython/run_bundle.mjs BUNDLE [vectors.json ...]
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const runtime = join(root, "web", "node_modules", "@micropython", "micropython-webassembly-pyscript", "micropython.mjs");
const { loadMicroPython } = await import(runtime);

const [bundle, ...vectors] = process.argv.slice(2);
const lines = [];
const mp = await loadMicroPython({
  stdout: (line) => lines.push(line),
  stderr: (line) => process.stderr.write(line + "\n"),
});
mp.FS.mkdirTree("/app/kaltura_web");
mp.FS.writeFile("/app/kaltura_web/__init__.mpy", readFileSync(bundle));
mp.FS.writeFile("/app/runner.py", readFileSync(join(root, "tests", "vectors", "runner.py")));
vectors.forEach((file, i) => mp.FS.writeFile("/app/vectors" + i + ".json", readFileSync(file)));

const report = { ok: false, error: null };
try {
  mp.runPython(`
import os, sys
sys.path.insert(0, "/app")
os.chdir("/app")
import kaltura_web
_file = kaltura_web.__file__
_unpacked = sorted(f + "/" + n for f in ("core", "browser") for n in os.listdir("kaltura_web/" + f))
_imported = 0
for _name in _unpacked:
    if _name != "browser/auto.mpy":
        __import__("kaltura_web." + _name[:-4].replace("/", "."))
        _imported += 1
import runner
_vectors = [runner.main("/app/vectors%d.json" % _i, "micropython bundle") for _i in range(${vectors.length})]
`);
  Object.assign(report, {
    ok: true,
    file: mp.globals.get("_file"),
    unpacked: [...mp.globals.get("_unpacked")],
    imported: mp.globals.get("_imported"),
    vectors: [...mp.globals.get("_vectors")],
  });
} catch (err) {
  report.error = String(err);
}
report.marks = performance.getEntriesByType("mark").map((m) => m.name);
report.output = lines;
process.stdout.write(JSON.stringify(report) + "\n");
