"""The one formatter of times and durations a user reads (pages, report, desk API, CLI).

Times: the site's time zone (default Asia/Shanghai), `2026-11-21 14:05:09` in both languages.
Durations: `7小时12分` / `7 h 12 min`, under an hour `12分5秒` / `12 min 5 s`. The patterns are
catalogue entries, so the scripts of the live pages (server/static/app.js) format with the very
same patterns, handed to them in the page's i18n block.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from core_ext.i18n import N_, gettext

DEFAULT_TIMEZONE = "Asia/Shanghai"
TS_FORMAT = "%Y-%m-%d %H:%M:%S"
# "time" is the chart ticks' style, as formatTs(ms, tz, "time") in server/static/app.js.
STYLES = {"datetime": TS_FORMAT, "clock": "%H:%M:%S", "time": "%H:%M"}
NO_VALUE = "—"

DURATION_HM = N_("%(hours)d h %(minutes)d min")
DURATION_MS = N_("%(minutes)d min %(seconds)d s")
DURATION_PATTERNS = (DURATION_HM, DURATION_MS)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_ts(ms: int | None, tz: str | None = None, style: str = "datetime") -> str:
    """Epoch milliseconds as the site's wall time; `style="clock"` gives `14:05:09`, "time" `14:05`."""
    if ms is None:
        return NO_VALUE
    moment = datetime.fromtimestamp(ms / 1000, _zone(tz or DEFAULT_TIMEZONE))
    return moment.strftime(STYLES[style])


def format_duration(ms: int | float | None, locale: str) -> str:
    """A length of time, truncated to the minute from an hour up and to the second below."""
    if ms is None:
        return NO_VALUE
    total = int(abs(ms)) // 1000
    hours, minutes, seconds = total // 3600, total % 3600 // 60, total % 60
    if hours:
        text = gettext(locale, DURATION_HM) % {"hours": hours, "minutes": minutes}
    else:
        text = gettext(locale, DURATION_MS) % {"minutes": minutes, "seconds": seconds}
    return f"-{text}" if ms < 0 else text
