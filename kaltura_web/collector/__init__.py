"""The local Kaltura-compatible collector (``kaltura-web serve``).

Lightweight re-exports only.  docs/collector.md has the module map; in short,
the pure stdlib(+cryptography) modules (``ks``, ``faults``, ``store``,
``linter``, ``filters``, ``playback``, ``reports``, ``summary``, ``values``,
``security``) never import Flask, which is imported by ``app``, ``routes``,
``server`` and the answer renderers when a server is built.
"""

from .ks import KSError, KSInfo, make_ks_v2, mask_ks, parse_ks

__all__ = ["KSError", "KSInfo", "make_ks_v2", "mask_ks", "parse_ks", "create_app", "CollectorServer"]


def __getattr__(name):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "CollectorServer":
        from .server import CollectorServer

        return CollectorServer
    raise AttributeError(name)
