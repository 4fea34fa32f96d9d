"""Static files: the web root under ``/web/`` and the dashboard page at ``/``
(``/dashboard/<file>`` for its script and stylesheet).  A missing file is the
app's one 404 answer (``answers.not_found``)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from ..answers import not_found
from ..dashboard import ASSETS, HERE, PAGE

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".html": "text/html",
    ".css": "text/css",
    ".py": "text/x-python",
    ".svg": "image/svg+xml",
    ".map": "application/json",
    ".txt": "text/plain",
}


def mimetype_of(path: Path) -> str:
    return MIME_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
        or "application/octet-stream"


def web_file(web_root, filename, request):
    """A file of the web root (``dir/`` serves ``dir/index.html``), with Range support."""
    from flask import redirect, send_file
    from werkzeug.security import safe_join

    target = safe_join(str(web_root), filename) if web_root is not None else None
    if target is None:
        raise not_found()
    target = Path(target)
    if target.is_dir():
        if not request.path.endswith("/"):
            return redirect(request.path + "/")
        target = target / "index.html"
    if not target.is_file():
        raise not_found()
    response = send_file(target, mimetype=mimetype_of(target), conditional=True, etag=True, max_age=0)
    response.headers["Accept-Ranges"] = "bytes"
    return response


def dashboard_file(name, files=ASSETS):
    """One file of the dashboard folder, if ``files`` lists it (name -> MIME type)."""
    from flask import send_file

    if name not in files:
        raise not_found()
    return send_file(HERE / name, mimetype=files[name], max_age=0)


def register(app, state) -> None:
    from flask import request

    def web(filename="index.html"):
        return web_file(state.web_root, filename, request)

    app.add_url_rule("/web/", "web", web)
    app.add_url_rule("/web/<path:filename>", "web", web)
    app.add_url_rule("/", "dashboard_page", lambda: dashboard_file("index.html", PAGE))
    app.add_url_rule("/dashboard/<name>", "dashboard_asset", dashboard_file)
