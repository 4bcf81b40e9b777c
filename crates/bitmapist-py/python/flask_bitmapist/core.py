"""``FlaskBitmapist``: the extension object and its configuration.

Why: the seed's three lines (import, ``FlaskBitmapist()``, ``init_app(app)``) make an app
ready to mark events and serve the dashboard at ``/bitmapist``.

How: ``init_app`` reads the app's config, points the named bitmapist system at the store
(``BITMAPIST_STORE_URL`` for any of our store URLs, else ``BITMAPIST_REDIS_URL`` through
``bitmapist.setup_redis``), stores itself in ``app.extensions["bitmapist"]`` (where the
marking functions find the system and the hourly setting) and registers the ``bitmapist``
blueprint unless ``BITMAPIST_DISABLE_BLUEPRINT`` is set.

Configuration (defaults as documented):

- ``BITMAPIST_REDIS_URL``: ``"redis://localhost:6379"`` (``rediss://`` and ``unix://`` too;
  a db number, user and password in the URL are used).
- ``BITMAPIST_REDIS_SYSTEM``: ``"default"``, the bitmapist system the app uses.
- ``BITMAPIST_TRACK_HOURLY``: ``False``, also mark hourly bitmaps.
- ``BITMAPIST_DISABLE_BLUEPRINT``: ``False``.
- ``BITMAPIST_STORE_URL``: unset; any store URL of ours (``file:///path/to/store.redb``
  embedded, ``redis://``, ``redis+cluster://``, ``memory://``). Overrides
  ``BITMAPIST_REDIS_URL``.
- ``BITMAPIST_DASHBOARD_ACCESS``: ``"loopback"`` (the dashboard answers loopback clients
  only, forwarded headers included), ``"public"``, or a callable taking the Flask request
  and returning True to allow, or False / a reason string to refuse with 403.

Invariants: the blueprint is registered at most once per app, however often ``init_app``
runs; a bad setting raises ValueError / TypeError naming it, from ``init_app``.

What a crash can lose: nothing; this only configures.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional, Tuple, Union

import bitmapist as _bitmapist
from flask import Flask

from .marking import EXTENSION_KEY
from .utils import redis_kwargs

DEFAULT_REDIS_URL = "redis://localhost:6379"

Access = Union[str, Callable[[Any], Union[bool, str, None]]]


class FlaskBitmapist:
    """The Flask-Bitmapist extension: ``FlaskBitmapist(app)`` or ``init_app(app)`` later."""

    app: Optional[Flask] = None
    redis_url: Optional[str] = None
    store_url: Optional[str] = None
    system: str = "default"
    SYSTEMS = _bitmapist.SYSTEMS
    TRACK_HOURLY = _bitmapist.TRACK_HOURLY

    def __init__(
        self, app: Optional[Flask] = None, config: Optional[Dict[str, Any]] = None, **opts: Any
    ) -> None:
        if not (config is None or isinstance(config, dict)):
            raise ValueError("config must be an instance of dict or None")
        self.config = config
        self.app = app
        self.access: Access = "loopback"
        self._dashboard: Any = None
        if app is not None:
            self.init_app(app, config)

    def init_app(self, app: Flask, config: Optional[Dict[str, Any]] = None) -> None:
        """Configure bitmapist from ``app.config`` (``config`` entries win) and register
        the blueprint."""
        settings: Dict[str, Any] = dict(app.config)
        settings.update(self.config or {})
        settings.update(config or {})

        system = settings.get("BITMAPIST_REDIS_SYSTEM", "default")
        if not isinstance(system, str) or not system:
            raise ValueError("BITMAPIST_REDIS_SYSTEM must be a non-empty str")
        track_hourly = settings.get("BITMAPIST_TRACK_HOURLY", False)
        if not isinstance(track_hourly, bool):
            raise TypeError("BITMAPIST_TRACK_HOURLY must be True or False")
        access = settings.get("BITMAPIST_DASHBOARD_ACCESS", "loopback")
        if not (callable(access) or access in ("loopback", "public")):
            raise ValueError(
                "BITMAPIST_DASHBOARD_ACCESS must be 'loopback', 'public' or a callable"
            )

        store_url = settings.get("BITMAPIST_STORE_URL")
        redis_url = settings.get("BITMAPIST_REDIS_URL", DEFAULT_REDIS_URL)
        if store_url is not None:
            if not isinstance(store_url, str) or not store_url:
                raise ValueError("BITMAPIST_STORE_URL must be a store URL str")
            _setup_store(system, store_url)
        else:
            if not isinstance(redis_url, str):
                raise ValueError("BITMAPIST_REDIS_URL must be a str")
            _bitmapist.setup_redis(system, **redis_kwargs(redis_url))

        self.app = app
        self.redis_url = redis_url
        self.store_url = store_url
        self.system = system
        self.TRACK_HOURLY = track_hourly
        self.access = access
        self._dashboard = None
        app.extensions[EXTENSION_KEY] = self

        if not settings.get("BITMAPIST_DISABLE_BLUEPRINT", False):
            from .views import bitmapist_bp

            if bitmapist_bp.name not in app.blueprints:
                app.register_blueprint(bitmapist_bp)


#: Stores opened through ``BITMAPIST_STORE_URL``, by (process, URL).
_OPEN: Dict[Tuple[int, str], Any] = {}


def _setup_store(system: str, url: str) -> None:
    setup = getattr(_bitmapist, "setup_store", None)
    if setup is None:
        raise RuntimeError(
            "BITMAPIST_STORE_URL needs the bitmapist package built from this project "
            "(pip install ./crates/bitmapist-py); the installed bitmapist only speaks Redis"
        )
    # An embedded file may be opened once per process: an app initialised again (or a
    # second app on the same store) shares the client already open on that URL.
    key = (os.getpid(), url)
    client = _OPEN.get(key)
    if client is None:
        try:
            client = _OPEN[key] = setup(system, url)
        except ValueError as exc:
            raise ValueError("BITMAPIST_STORE_URL %r: %s" % (url, exc)) from exc
    _bitmapist.SYSTEMS[system] = client
