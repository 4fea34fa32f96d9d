"""The local Kaltura-compatible collector (``kaltura-web serve``).

Lightweight re-exports only: ``ks``, ``faults``, ``store``, ``linter``,
``reports``, ``values`` (the strict number grammar, JSON without NaN) and
``security`` (who may call what) are pure stdlib(+cryptography) modules; Flask
is imported by ``app``/``server``/``params``/``answers`` when a server is built.
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
