"""The desk API's error texts in the caller's language (Accept-Language; default Simplified Chinese).

Field names in `detail[].loc` and the error `type` stay English: they are the API contract;
only `msg` (and a string `detail`) is for people. Request-shape errors found by the request
models are worded here by their pydantic error type, so every 422 reads in the desk's language.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

from core_ext.i18n import DEFAULT_LOCALE, N_, gettext, negotiate

NOT_LOGGED_IN = N_("log in at /desk/v1/login and send 'Authorization: Bearer <token>'")
WRONG_ROLE = N_("role '%(role)s' may not do this (needs one of %(roles)s)")
BAD_LOGIN = N_("unknown username or wrong password")
NOT_RECORDED = N_("not recorded: %(reason)s")
ENGINE_REFUSED = N_("the engine refused the event: %(reason)s")
WINDOW_INVERTED = N_("valid_until is before valid_from")
UNKNOWN_BANK = N_("unknown locker bank '%(bank)s'")
SLOT_RANGE = N_("bank '%(bank)s' has slots 1..%(slots)s, got %(slot)s")
ORDER_EXISTS = N_("work order '%(id)s' exists already")
NO_REQUEST = N_("no work order request '%(id)s' is waiting for approval")
NO_BOARD = N_("no lock board of this gateway drives slot %(slot)s")
BOARD_OFFLINE = N_("the lock board %(board)s of slot %(slot)s is offline: the slot cannot be opened now")
BOARD_FAILED = N_("the unlock of slot %(slot)s is recorded, but the lock board %(board)s did not take it: %(reason)s")
ACCOUNT_GONE = N_("this account was removed or disabled: ask a supervisor")
PASSWORD_CHANGED = N_("the password of this account was changed: log in again")
BY_NOT_YOU = N_("'%(field)s' must be the logged-in user '%(user)s': staff record only as themselves")
TOO_MANY_LOGINS = N_("too many failed log-ins for this account or from this computer: try again in %(seconds)s s")
BODY_TOO_LARGE = N_("the request body is larger than %(limit)s bytes")
STAFF_UNREADABLE = N_("the staff accounts cannot be read: %(reason)s")

# Request-shape errors by pydantic error type; ctx values fill the placeholders.
VALIDATION: dict[str, str] = {
    "missing": N_("this field is required"),
    "extra_forbidden": N_("unknown field"),
    "string_type": N_("must be text"),
    "string_too_short": N_("must have at least %(min_length)s characters"),
    "string_too_long": N_("must have at most %(max_length)s characters"),
    "string_pattern_mismatch": N_("may contain only letters, digits and . _ : -"),
    "literal_error": N_("must be one of: %(expected)s"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_type": N_("must be a number"),
    "float_parsing": N_("must be a number"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "greater_than": N_("must be greater than %(gt)s"),
    "greater_than_equal": N_("must be at least %(ge)s"),
    "less_than_equal": N_("must be at most %(le)s"),
    "json_invalid": N_("the request body is not valid JSON"),
    "model_attributes_type": N_("the request body must be a JSON object"),
    "dict_type": N_("the request body must be a JSON object"),
}
UNKNOWN_VALIDATION = N_("invalid value")


def desk_locale(request: Request) -> str:
    return negotiate(request.headers.get("accept-language")) or DEFAULT_LOCALE


def text(locale: str, template: str, **params: Any) -> str:
    return gettext(locale, template) % params


def validation_detail(errors: Sequence[dict[str, Any]], locale: str) -> list[dict[str, Any]]:
    """FastAPI's 422 detail with each `msg` worded in `locale` (loc, type, ctx unchanged)."""
    detail = []
    for error in errors:
        kind = error.get("type", "")
        ctx = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
        if kind == "value_error" and str(ctx.get("error", "")) == WINDOW_INVERTED:
            message = text(locale, WINDOW_INVERTED)
        else:
            try:
                message = text(locale, VALIDATION.get(kind, UNKNOWN_VALIDATION), **ctx)
            except KeyError:
                # A ctx without the placeholder the wording needs: say what is known, not nothing.
                message = gettext(locale, UNKNOWN_VALIDATION)
        entry = {"loc": list(error.get("loc", ())), "msg": message, "type": kind}
        if ctx:
            entry["ctx"] = ctx
        detail.append(entry)
    return detail
