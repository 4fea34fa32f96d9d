// Runs the conformance vectors on MicroPython 1.28 (WebAssembly, in Node),
// loading the kaltura_web core modules unchanged from the source tree.
// Usage: node tests/micropython/run_vectors.mjs [vectors.json ...]
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const runtime = join(root, "web", "node_modules", "@micropython", "micropython-webassembly-pyscript", "micropython.mjs");
const { loadMicroPython } = await import(runtime);

const mp = await loadMicroPython({
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

// The core is exactly the kaltura_web/core folder; the package __init__ (which only
// re-exports the core) comes along so that `import kaltura_web.core` works as on a page.
mp.FS.mkdir("/app");
mp.FS.mkdir("/app/kaltura_web");
mp.FS.mkdir("/app/kaltura_web/core");
mp.FS.writeFile("/app/kaltura_web/__init__.py", readFileSync(join(root, "kaltura_web", "__init__.py")));
for (const name of readdirSync(join(root, "kaltura_web", "core"))) {
  if (name.endsWith(".py")) {
    mp.FS.writeFile("/app/kaltura_web/core/" + name, readFileSync(join(root, "kaltura_web", "core", name)));
  }
}
mp.FS.writeFile("/app/runner.py", readFileSync(join(root, "tests", "vectors", "runner.py")));
// the vector files to run: the arguments, or every file of tests/vectors
const files = process.argv.length > 2 ? process.argv.slice(2)
  : readdirSync(join(root, "tests", "vectors")).filter((n) => n.endsWith(".json")).sort()
    .map((n) => join(root, "tests", "vectors", n));
files.forEach((file, i) => mp.FS.writeFile("/app/vectors" + i + ".json", readFileSync(file)));

try {
  mp.runPython(`
import sys
sys.path.insert(0, "/app")
import runner
_ok = True
for _i in range(${files.length}):
    _ok = runner.main("/app/vectors%d.json" % _i, "micropython %s" % ".".join(str(v) for v in sys.implementation.version[:3])) and _ok
`);
  process.exit(mp.globals.get("_ok") ? 0 : 1);
} catch (err) {
  console.error(String(err));
  process.exit(2);
}
