"""The ``kaltura-web`` command line (CPython): ``send`` (server-side reporting),
``serve``/``ks``/``verify``/``report`` (the local collector) and ``demo``.
An application layer: it may use the CPython edge and the collector."""

from .main import main

__all__ = ["main"]
