"""The collector's routes, one module per concern; each has ``register(app, state)``.

* ``api_v3``: Kaltura API v3 (session.start, stats.collect, multirequest, and the
  dispatch of every ``/api_v3`` URL); ``report`` holds report.getTable/getTotal.
* ``analytics``: analytics.trackEvent (reached through the API v3 URLs).
* ``dev``: the development API under ``/dev/`` (KS, events, faults, the
  dashboard's stream and summary) and who may call it.
* ``static``: ``/web/`` files and the dashboard page.
"""
