"""Times and durations: core_ext.i18n.formatting, shared with the edge."""
from core_ext.i18n.formatting import (
    DEFAULT_TIMEZONE,
    DURATION_HM,
    DURATION_MS,
    DURATION_PATTERNS,
    NO_VALUE,
    STYLES,
    TS_FORMAT,
    format_duration,
    format_ts,
)

__all__ = ["DEFAULT_TIMEZONE", "DURATION_HM", "DURATION_MS", "DURATION_PATTERNS", "NO_VALUE", "STYLES", "TS_FORMAT",
           "format_duration", "format_ts"]
