"""Jinja2 environments for the center's pages, one per locale; every user-facing string goes through gettext.

One environment per locale (rather than swapping translations per request) keeps rendering
thread-safe: requests in different languages never share installed callables.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from server.i18n import DEFAULT_LOCALE, LANGUAGE_TAGS, LOCALES, translations
from server.i18n.formatting import DURATION_HM, DURATION_MS, format_duration, format_ts
from server.i18n.rules import RULE_DESCRIPTIONS, RULE_TITLES, rule_description, rule_title
from server.web import labels

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"


def _environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    catalogue = translations(locale)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.filters["ts"] = format_ts
    env.filters["duration"] = lambda ms: format_duration(ms, locale)
    # Data is never passed through _(): gettext's result is marked safe, so markup in a value
    # from a gateway would reach the page raw. label() translates the words it knows and gives
    # anything else back as a plain string, which autoescaping then escapes.
    known = frozenset(labels.ALL)

    def label(value: object, field: str | None = None) -> str:
        """`field` qualifies a second-layer value (labels.SECOND_LAYER: outcome, leave_reason, ...)."""
        if value is None:
            return ""
        text = str(value)
        msgid = f"{field}:{text}" if field else text
        return str(catalogue.ugettext(msgid)) if msgid in known else text

    env.globals["label"] = label
    env.globals.update(
        locale=locale, lang_tag=LANGUAGE_TAGS[locale], language_tags=LANGUAGE_TAGS,
        rule_ids=list(RULE_TITLES), rule_title=lambda rule: rule_title(rule, locale),
        rule_description=lambda rule: rule_description(rule, locale),
        # Run-time words (rules, roles, zone types, states) and duration patterns for the scripts.
        script_labels={msgid: catalogue.ugettext(msgid) for msgid in labels.ALL}
        | {"duration_hm": catalogue.ugettext(DURATION_HM), "duration_ms": catalogue.ugettext(DURATION_MS)},
        script_descriptions={rule: rule_description(rule, locale) for rule in RULE_DESCRIPTIONS},
    )
    return env


class LocalizedTemplates:
    """A Jinja2Templates per locale; `TemplateResponse` renders in the locale it is given."""

    def __init__(self) -> None:
        self._by_locale = {locale: Jinja2Templates(env=_environment(locale)) for locale in LOCALES}

    def TemplateResponse(  # noqa: N802 - mirrors Jinja2Templates
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200,
        locale: str = DEFAULT_LOCALE,
    ) -> HTMLResponse:
        response = self._by_locale[locale].TemplateResponse(request, name, context, status_code=status_code)
        response.headers["Content-Language"] = LANGUAGE_TAGS[locale]
        # The language depends on the login, a cookie and Accept-Language: caches must not mix them.
        response.headers["Vary"] = "Accept-Language, Cookie"
        return response


def make_templates() -> LocalizedTemplates:
    return LocalizedTemplates()
