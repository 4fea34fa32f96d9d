/*
 * kaltura_web Content-Security-Policy reporter (shipped by `make dist` as kaltura-csp.<hash>.js).
 *
 * A policy that refuses something the SDK or its runtime needs (a blob: worker, WebAssembly,
 * a beacon to a Kaltura host, the inline early-event snippet) makes the browser drop it, and
 * the Python runtime may then never start, or the beacons never leave.  This classic script,
 * loaded from the page's own origin before everything else, turns each refusal into one
 * console error naming the directive, e.g.
 *   kaltura_web: blocked by Content-Security-Policy directive worker-src (blob) ...
 * and a `kaltura-web:error` event on window (detail: where, directive, blocked, source),
 * so a strict policy never fails silently.  Each (directive, blocked resource) is told once.
 */
(function (w, d) {
  var told = {};
  d.addEventListener("securitypolicyviolation", function (e) {
    var directive = e.effectiveDirective || e.violatedDirective;
    var blocked = e.blockedURI || "inline";
    var key = directive + " " + blocked;
    if (told[key]) return;
    told[key] = 1;
    var text = "kaltura_web: blocked by Content-Security-Policy directive " + directive +
      " (" + blocked + (e.sourceFile ? ", from " + e.sourceFile + ":" + e.lineNumber : "") +
      "); the policy kaltura_web needs is in manifest.json and in the README, \"Deploy on your portal\"";
    console.error(text);
    w.dispatchEvent(new CustomEvent("kaltura-web:error", {detail: {
      where: "Content-Security-Policy", directive: directive, blocked: blocked,
      source: e.sourceFile || null, error: text}}));
  });
})(window, document);
