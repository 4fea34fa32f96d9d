"""Automatic instrumentation that follows the DOM: media that comes and goes.

``KalturaWeb.instrument()`` (``start()`` runs it) hands its root and the
attachments it made to ``watch``; unless the configuration says
``"observe": false``, one ``MutationObserver`` on that root then keeps the
automatic attachments equal to the ``video``/``audio`` elements with
``data-kaltura-entry-id`` that are in the page:

- an element added later, or given the attribute later, is attached as
  ``instrument()`` attaches one: its own Player, WIDGET_LOADED, the metadata
  it already has.  What it played before it came (in an earlier session, or
  off the page) is not reconstructed.
- an element that is no longer in the page when the observer's callback runs
  is *released*: its attachment detached (the timeupdate the gate held back
  handed over first, every listener removed, every proxy destroyed), its
  Player closed (the core's ``close``: nothing is allowed after it) and
  forgotten by the runtime and the tracker.  An element whose entry id
  changed is released and attached again under the new one.
- an element *moved* (taken out and put back before the callback runs:
  ``appendChild`` of an element already in the page, a framework re-ordering
  a list) is in the page when the callback looks, so it keeps its attachment
  and its session.  One put back later (after the callback ran) is a new
  element to the SDK: a new Player and a new session.

Buttons need nothing here: the runtime's one ``click`` listener on
``document`` finds ``[data-kaltura-button]`` by delegation, whenever the
button was added.  Attachments the page made itself with ``attach()`` stay
the page's to detach.

A few lines of JavaScript see each batch of mutations first and call Python
only for a batch that adds or removes media (or changes the entry-id
attribute of one), so a page that changes its DOM all the time does not run
Python for it; ``watcher.js.batches`` and ``.notified`` count both.  The
callback is a proxy of the watcher's ``ProxyOwner``; ``stop()`` (run by
``KalturaWeb.stop``) disconnects the observer and destroys it.
"""

from ..core.session import CLOSED
from . import csp
from ._convert import attribute
from ._proxies import ProxyOwner
from ._runtime import js

ENTRY_ATTRIBUTE = "data-kaltura-entry-id"
MEDIA = "video[data-kaltura-entry-id], audio[data-kaltura-entry-id]"

# notify() -> the watcher: {observe(root), stop(), batches, notified}.  A batch matters when it
# adds media with an entry id, removes any media (the attribute may have gone before), or
# changes the attribute on a video/audio element.
OBSERVER_JS = """(function () {
  var ADDED = %(added)r, ANY = "video, audio";
  function has(nodes, selector) {
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      if (n.nodeType === 1 && (n.matches(selector) || n.querySelector(selector) !== null)) return true;
    }
    return false;
  }
  function matters(r) {
    if (r.type === "attributes") return r.target.matches(ANY);
    return has(r.addedNodes, ADDED) || has(r.removedNodes, ANY);
  }
  return function (notify) {
    var w = {batches: 0, notified: 0};
    var observer = new MutationObserver(function (records) {
      w.batches++;
      for (var i = 0; i < records.length; i++) {
        if (matters(records[i])) { w.notified++; notify(); return; }
      }
    });
    w.observe = function (root) {
      observer.observe(root, {childList: true, subtree: true, attributes: true,
                              attributeFilter: [%(attribute)r]});
    };
    w.stop = function () { observer.disconnect(); notify = function () {}; };
    return w;
  };
})()""" % {"added": MEDIA, "attribute": ENTRY_ATTRIBUTE}
JS_SOURCES = (OBSERVER_JS,)  # csp.py

_factory = [None]


def available():
    """True where a MutationObserver can be made (a browser runtime)."""
    return js is not None


def _observer(notify):
    """The JS watcher calling ``notify()`` (the factory is evaluated once per page)."""
    if _factory[0] is None:
        _factory[0] = csp.js_value(OBSERVER_JS)
    return _factory[0](notify)


def watch(runtime, root, handles):
    """``runtime.instrument(root)`` made ``handles``: observe ``root`` (once;
    a root inside one observed already is covered) and keep ``handles`` in
    step with their elements.  Returns the runtime's ``DomWatch``, or None
    where there is no DOM to observe."""
    watcher = runtime.watcher
    if watcher is None:
        if not available():
            return None
        watcher = runtime.watcher = DomWatch(runtime)
    watcher.add(root, handles)
    return watcher


class DomWatch:
    """The observer of one runtime's automatic instrumentation (``runtime.watcher``)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.roots = []
        self.handles = []  # the automatic attachments (made by instrument())
        self.released = 0  # attachments released because their element left or changed entry
        self._owner = ProxyOwner(runtime.tracker, "dom watch")
        self.js = _observer(self._owner.proxy(self.changed, "dom watch callback"))

    def add(self, root, handles):
        """Observe ``root`` unless an observed root is it or contains it; adopt ``handles``."""
        if not any(r == root or bool(r.contains(root)) for r in self.roots):
            self.js.observe(root)
            self.roots.append(root)
        self.handles.extend(handles)

    def _gone(self, handle):
        """The element left the page, or now stands for another entry (or none)."""
        video = handle.video
        return not bool(video.isConnected) or attribute(video, ENTRY_ATTRIBUTE) != handle.player.entry_id

    def changed(self):
        """A batch of mutations that matters: release the attachments whose
        element is gone, then attach the media that came."""
        for handle in [h for h in self.handles if self._gone(h)]:
            self.release(handle)
        for root in list(self.roots):
            if bool(root.isConnected):
                # sync=False: the element's metadata is caught up with below, its past is not replayed
                for handle in self.runtime.instrument(root=root, sync=False):
                    handle.sync()

    def release(self, handle):
        """Detach ``handle``, close its playback session and forget both."""
        self.handles = [h for h in self.handles if h is not handle]
        handle.detach()  # hands the held timeupdate to the Player before it closes
        player = handle.player
        if player.session.state != CLOSED:
            player.close()
        _drop(self.runtime.attachments, handle)
        _drop(self.runtime.tracker.players, player)
        self.released += 1

    def stop(self):
        """Disconnect the observer and destroy its callback (idempotent)."""
        self.js.stop()
        self._owner.destroy()
        self.roots = []
        self.handles = []
        if self.runtime.watcher is self:
            self.runtime.watcher = None


def _drop(items, item):
    """Remove ``item`` (by identity) from the list ``items`` in place."""
    for i in range(len(items)):
        if items[i] is item:
            del items[i]
            return
