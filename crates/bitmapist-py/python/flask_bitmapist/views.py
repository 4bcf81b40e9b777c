"""The ``bitmapist`` blueprint: our dashboard, served at ``/bitmapist`` by the Rust core.

Why: the pages, JSON, CSV, legacy ``POST /cohort`` and assets must be the same as the
axum and actix-web dashboards', so the blueprint draws nothing itself: it hands each
request to the framework-independent dashboard core (``bitmapist._native.Dashboard``).

How: every route below the mount (``/`` is endpoint ``index``, ``/cohort`` is ``cohort``,
the rest ``page``) turns the Flask request into the core's request (method, path below
the mount, raw query string, headers, ``remote_addr``, body, the mount path including the
app's script root) and the core's answer into a Flask response, headers unchanged. The
core runs with the GIL released, so other threads keep serving meanwhile. One core per
app, built on first use from the app's bitmapist system.

Access: ``BITMAPIST_DASHBOARD_ACCESS`` ``"loopback"`` (default) lets the core apply its
loopback guard; ``"public"`` lets everyone in; a callable is asked first with the Flask
request, and anything but True is answered with the core's own 403 page / JSON (a string
return is the reason shown).

Invariants: ``/bitmapist`` redirects to ``/bitmapist/`` (Flask's strict slashes), so the
dashboard's relative links resolve; the app's other routes are untouched.

What a crash can lose: nothing; the dashboard only reads.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request

from .marking import EXTENSION_KEY

MOUNT = "/bitmapist"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

bitmapist_bp = Blueprint("bitmapist", __name__, url_prefix=MOUNT)


@bitmapist_bp.route("/", methods=_METHODS)
def index() -> Response:
    return _serve()


@bitmapist_bp.route("/cohort", methods=_METHODS)
def cohort() -> Response:
    return _serve()


@bitmapist_bp.route("/<path:subpath>", methods=_METHODS)
def page(subpath: str) -> Response:
    return _serve()


def _core(ext: Any) -> Any:
    if ext._dashboard is None:
        try:
            from bitmapist import _handle
            from bitmapist._native import Dashboard
        except ImportError as exc:
            raise RuntimeError(
                "the /bitmapist dashboard needs the bitmapist package built from this "
                "project (pip install ./crates/bitmapist-py)"
            ) from exc
        public = ext.access != "loopback"
        ext._dashboard = Dashboard(_handle(ext.system), access="public" if public else "loopback")
    return ext._dashboard


def _serve() -> Response:
    ext = current_app.extensions[EXTENSION_KEY]
    core = _core(ext)
    mount = request.script_root + MOUNT
    path = _raw_path(mount)
    query = request.query_string.decode("latin-1") or None
    headers: List[Tuple[str, str]] = list(request.headers.items())
    peer = _peer()
    body = request.get_data(cache=True)
    args = (request.method, path, query, headers, peer, body, mount)

    guard = ext.access
    if callable(guard):
        verdict = guard(request)
        if verdict is not True:
            reason = verdict if isinstance(verdict, str) and verdict else "access denied"
            return _response(core.forbidden(*args, reason))
    return _response(core.handle(*args))


def _raw_path(mount: str) -> str:
    """The path below the mount as the client sent it (still percent-encoded: the core
    reads ``/events/a%2Fb`` as the event ``a/b``). WSGI's ``PATH_INFO`` is decoded, so
    the raw request line (``RAW_URI`` / ``REQUEST_URI``, set by werkzeug, gunicorn and
    uWSGI) is used when the server gives it; otherwise the decoded path is re-encoded."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        raw = raw.split("?", 1)[0]
        if "://" in raw:  # an absolute-form request target
            raw = "/" + raw.split("://", 1)[1].partition("/")[2]
        if raw.startswith(mount):
            return raw[len(mount):] or "/"
    return quote(request.path[len(MOUNT):], safe="/:@!$&'()*+,;=~") or "/"


def _peer() -> Optional[str]:
    addr = request.remote_addr
    if not addr:
        return None
    port = request.environ.get("REMOTE_PORT") or 0
    return ("[%s]:%s" if ":" in addr else "%s:%s") % (addr, port)


def _response(answer: Tuple[int, List[Tuple[str, bytes]], bytes]) -> Response:
    status, headers, body = answer
    resp = Response(body, status=status)
    resp.headers.clear()
    for name, value in headers:
        resp.headers.add(name, value.decode("latin-1") if isinstance(value, bytes) else value)
    return resp
