"""Who may use which routes.

* The collection API (``/api_v3``) answers pages of any origin, as Kaltura
  does: ``add_cors_headers`` echoes the caller's Origin there and nowhere else.
* The development routes (``/dev/*``: KS, events, reset, faults, the
  dashboard's data) are for the machine the collector runs on:
  ``dev_refusal`` refuses a request whose Origin is not the collector's own
  or whose ``Sec-Fetch-Site`` is not same-origin/none (another site, or
  another port of localhost), and, unless remote use was allowed, a request
  whose Host is not a loopback name (DNS rebinding).
* ``check_exposure`` refuses to serve the development routes on an address
  other machines can reach unless that is asked for explicitly.
"""

from __future__ import annotations

import ipaddress

API_PREFIX = "/api_v3"
DEV_PREFIX = "/dev/"
SAME_SITE_VALUES = ("same-origin", "none")


def is_loopback(host: str) -> bool:
    """True for localhost (and *.localhost) and loopback IP addresses."""
    host = (host or "").strip().strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name part of a Host header ("[::1]:8765" -> "::1")."""
    host = (host_header or "").strip()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def check_exposure(host, dev_routes, allow_remote_dev) -> None:
    """ValueError when the development routes would be served on a
    non-loopback address without ``allow_remote_dev``."""
    if dev_routes and not allow_remote_dev and not is_loopback(host):
        raise ValueError(
            f"host {host!r} is reachable from other machines, and the development routes "
            "(/dev/ks, /dev/events, /dev/reset, /dev/faults, the dashboard) would let them read "
            "your events, get a KS and wipe the store: use --no-dev-routes, or --allow-remote-dev "
            "if that is really what you want")


def add_cors_headers(request, response):
    """Echo the caller's Origin on the collection API (pages post beacons
    cross-origin); other routes get no CORS headers."""
    origin = request.headers.get("Origin")
    if origin and request.path.startswith(API_PREFIX):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
        response.headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
        wanted = request.headers.get("Access-Control-Request-Headers")
        response.headers["Access-Control-Allow-Headers"] = wanted or "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def dev_refusal(request, allow_remote_dev):
    """Why a development-route request is refused (a sentence), or None."""
    if not allow_remote_dev and not is_loopback(host_name(request.host)):
        return "development routes answer only to a loopback Host (see --allow-remote-dev)"
    origin = request.headers.get("Origin")
    own = f"{request.scheme}://{request.host}".lower()
    if origin is not None and origin.strip().lower() != own:
        return f"cross-origin request from {origin!r} refused: development routes are same-origin only"
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site.strip().lower() not in SAME_SITE_VALUES:
        return f"{site!r} request refused: development routes are same-origin only"
    return None
