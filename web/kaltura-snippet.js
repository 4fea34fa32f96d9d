/*
 * kaltura_web early-event snippet: the one piece of JavaScript on a kaltura_web page.
 *
 * The Python runtime takes a moment to download and start (MicroPython ~0.3 s,
 * Pyodide ~2 s or more).  Like the queueing stubs of analytics tags, this snippet
 * records what happens meanwhile, and the SDK (kaltura_web/browser/early.py)
 * drains it when it starts: it calls kalturaWebQueue.stop(), which removes these
 * listeners, and replays every record through the core with its own time.
 *
 * Records go to window.kalturaWebQueue (an array; .t0 = when the snippet ran,
 * .dropped = records beyond the cap of 1000):
 *   - media events of video/audio[data-kaltura-entry-id]: play, playing, pause,
 *     seeking, seeked, timeupdate (at most one per 0.25 s per element), ended,
 *     waiting, loadedmetadata, ratechange, with the element's currentTime,
 *     duration, paused, ended, seeking and playbackRate at that moment;
 *   - clicks inside [data-kaltura-button], with the button's spec and entry id;
 *   - the page's consent and erase events on document (a CMP's answer:
 *     document.dispatchEvent(new CustomEvent("kaltura-web:consent", {detail: {state: "granted"}})),
 *     and "kaltura-web:erase"), with detail.state; kept even beyond the cap.
 * Times are Date.now() / 1000 (Unix seconds).  Media events do not bubble, so the
 * listeners are capture-phase listeners on document: they see every element,
 * including ones parsed after the snippet ran.
 *
 * Inline the minified copy (below, 1006 bytes) in <head> before the PyScript tag.
 */
(function (w, d) {
  var q = (w.kalturaWebQueue = []);
  var types = ("play playing pause seeking seeked timeupdate ended waiting loadedmetadata ratechange click " +
               "kaltura-web:consent kaltura-web:erase").split(" ");
  q.t0 = Date.now() / 1000;
  q.dropped = 0;

  function record(e) {
    var el = e.target;
    var now = Date.now() / 1000;
    var r = { type: e.type, t: now };
    if (e.type.indexOf("kaltura-web:") == 0) {
      r.state = e.detail && e.detail.state; // the SDK replays it in order; never dropped
      return q.push(r);
    }
    if (e.type == "click") {
      el = el.closest && el.closest("[data-kaltura-button]");
      if (!el) return;
      r.button = el.getAttribute("data-kaltura-button");
      r.entryId = el.getAttribute("data-kaltura-entry-id");
    } else {
      if (!el.getAttribute || el.getAttribute("data-kaltura-entry-id") == null) return;
      if (e.type == "timeupdate") {
        if (now - (el._kwT || 0) < 0.25) return; // sample: the core needs progress, not every tick
        el._kwT = now;
      }
      r.currentTime = el.currentTime;
      r.duration = el.duration;
      r.paused = el.paused;
      r.ended = el.ended;
      r.seeking = el.seeking;
      r.playbackRate = el.playbackRate;
    }
    r.el = el;
    if (q.length < 1000) q.push(r);
    else q.dropped++;
  }

  types.forEach(function (n) { d.addEventListener(n, record, true); });
  q.stop = function () {
    types.forEach(function (n) { d.removeEventListener(n, record, true); });
  };
})(window, document);

/* minified (inline this in <script> in <head>):
!function(w,d){var q=w.kalturaWebQueue=[],y="play playing pause seeking seeked timeupdate ended waiting loadedmetadata ratechange click kaltura-web:consent kaltura-web:erase".split(" ");q.t0=Date.now()/1e3;q.dropped=0;function f(e){var l=e.target,n=Date.now()/1e3,r={type:e.type,t:n};if(!e.type.indexOf("kaltura-web:")){r.state=e.detail&&e.detail.state;return q.push(r)}if(e.type=="click"){l=l.closest&&l.closest("[data-kaltura-button]");if(!l)return;r.button=l.getAttribute("data-kaltura-button");r.entryId=l.getAttribute("data-kaltura-entry-id")}else{if(!l.getAttribute||l.getAttribute("data-kaltura-entry-id")==null)return;if(e.type=="timeupdate"){if(n-(l._kwT||0)<.25)return;l._kwT=n}r.currentTime=l.currentTime;r.duration=l.duration;r.paused=l.paused;r.ended=l.ended;r.seeking=l.seeking;r.playbackRate=l.playbackRate}r.el=l;q.length<1e3?q.push(r):q.dropped++}y.forEach(function(n){d.addEventListener(n,f,!0)});q.stop=function(){y.forEach(function(n){d.removeEventListener(n,f,!0)})}}(window,document);
*/
