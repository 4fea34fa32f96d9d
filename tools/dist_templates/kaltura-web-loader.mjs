/*
 * kaltura_web loader (shipped by `make dist` as kaltura-web-loader.<hash>.mjs): starts the SDK
 * on MicroPython or Pyodide without PyScript, so that the page runs under a strict
 * Content-Security-Policy (PyScript 0.7 compiles its hooks with Function() on every start,
 * which a policy without 'unsafe-eval' refuses).
 *
 * The page says what to load in a JSON block (data, not script: no CSP source needed), with
 * URLs relative to the page:
 *   <script type="application/json" id="kaltura-web-runtime">
 *   {"runtime": "micropython" | "pyodide", "interpreter": ".../micropython.mjs" | ".../pyodide.mjs",
 *    "sdk": "the MicroPython bundle (.mpy) | the wheel (.whl)", "js": "kaltura-web-js.<hash>.mjs"}
 *   </script>
 *   <script type="module" src="kaltura-web-loader.<hash>.mjs"></script>
 * "js" is the SDK's own JavaScript compiled from a file (kaltura_web/browser/csp.py), so the SDK
 * needs no eval where its sources are in it.  Then `import kaltura_web.browser.auto` runs: the
 * SDK starts from #kaltura-web-config like on a PyScript page.  A failure is a console error and
 * a `kaltura-web:error` event on window (detail: where "loader", error).
 */
const SPEC_ID = "kaltura-web-runtime";
const START = "import kaltura_web.browser.auto";

function fail(error) {
  const text = "kaltura_web: the loader could not start the SDK: " + error;
  console.error(text);
  window.dispatchEvent(new CustomEvent("kaltura-web:error", {detail: {where: "loader", error: text}}));
}

async function bytes(url) {
  const answer = await fetch(url);
  if (!answer.ok) throw new Error("HTTP " + answer.status + " for " + url);
  return new Uint8Array(await answer.arrayBuffer());
}

async function micropython(spec, url) {  // -> run()
  // the bundle is the package's __init__: its first import unpacks the modules next to it
  const [{loadMicroPython}, bundle] = await Promise.all([import(url(spec.interpreter)), bytes(url(spec.sdk))]);
  const mp = await loadMicroPython({url: url(spec.interpreter).replace(/\.mjs$/, ".wasm")});
  try { mp.FS.mkdir("kaltura_web"); } catch (e) { /* already there */ }
  mp.FS.writeFile("kaltura_web/__init__.mpy", bundle);
  return () => mp.runPythonAsync(START);
}

async function pyodide(spec, url) {  // -> run()
  // the wheel is fetched while Pyodide starts and installed inside that start
  const interpreter = url(spec.interpreter);
  const {loadPyodide} = await import(interpreter);
  const py = await loadPyodide({indexURL: interpreter.slice(0, interpreter.lastIndexOf("/") + 1),
                                packages: [url(spec.sdk)]});
  return () => py.runPythonAsync(START);
}

async function main() {
  const block = document.getElementById(SPEC_ID);
  if (!block) throw new Error("no <script type=\"application/json\" id=\"" + SPEC_ID + "\"> on the page");
  const spec = JSON.parse(block.textContent);
  const url = (relative) => new URL(relative, document.baseURI).href;
  const start = {micropython, pyodide}[spec.runtime];
  if (!start) throw new Error("unknown runtime " + JSON.stringify(spec.runtime));
  // the runtime loads while the SDK's JavaScript does; Python runs once both are there
  const [run] = await Promise.all([start(spec, url), spec.js ? import(url(spec.js)) : null]);
  await run();
}

main().catch(fail);
