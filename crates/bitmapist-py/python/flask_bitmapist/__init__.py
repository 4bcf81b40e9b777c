"""Flask-Bitmapist: bitmap-based user analytics for Flask apps, on the bitmapist engine.

``FlaskBitmapist().init_app(app)`` configures the store and serves the dashboard at
``/bitmapist``; events are marked four ways: the ``@mark`` decorator, the ``Bitmapistable``
SQLAlchemy mixin, Flask-Login's login/logout signals, and ``mark_event``. ``get_event_data``,
``chain_events`` and ``get_cohort`` read them back. See ``core`` for the settings.
"""

from bitmapist import (
    BitOpAnd,
    BitOpOr,
    DayEvents,
    HourEvents,
    MonthEvents,
    WeekEvents,
    get_event_names,
)

from .core import FlaskBitmapist
from .decorators import mark
from .marking import mark_event, unmark_event
from .utils import chain_events, get_cohort, get_event_data

__all__ = [
    "FlaskBitmapist",
    "mark",
    "mark_event",
    "unmark_event",
    "MonthEvents",
    "WeekEvents",
    "DayEvents",
    "HourEvents",
    "BitOpAnd",
    "BitOpOr",
    "get_event_names",
    "chain_events",
    "get_cohort",
    "get_event_data",
]

try:
    from .mixins import Bitmapistable
except ImportError:  # SQLAlchemy is optional
    pass
else:
    __all__.append("Bitmapistable")

try:
    from .extensions.flask_login import mark_login, mark_logout
except ImportError:  # Flask-Login is optional
    pass
else:
    __all__ += ["mark_login", "mark_logout"]

__version__ = "0.2.0"
__versionfull__ = __version__
