"""Translations for everything a user reads: pages, reports, alert texts, desk API errors, CLI summaries.

Shared by the edge (gateway, CLI, demo) and the center (server/i18n re-exports it), so neither
imports the other for its texts; rules.py holds the rule titles, formatting.py the one formatter of
times and durations.

Simplified Chinese (`zh_CN`) is the default, English (`en`) is complete. Catalogues are the
.po files under `locales/` (extracted with pybabel, see babel.cfg and docs/glossary.md); they are
compiled in memory at first use, so a fresh `pip install -e .` needs no build step. Rule ids, API
field names and log keys are contracts and are never translated.
"""
from __future__ import annotations

import io
import os
from functools import cache
from importlib.resources import files
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(str(files(__name__).joinpath("locales")))  # package data, shipped in the wheel
DOMAIN = "messages"
LOCALES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
# The BCP 47 tag of each locale, for <html lang>, Content-Language and the language switch.
LANGUAGE_TAGS = {"zh_CN": "zh-CN", "en": "en"}
# Env var a CLI user sets to pick the language of human-readable summaries.
LOCALE_ENV = "CUSTODY_LOCALE"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext_noop name
    """Marks a msgid for extraction where the text is translated later, at run time."""
    return message


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> Translations:
    """The catalogue of `locale` (one of LOCALES), read from its .po file once per process."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r} (known: {', '.join(LOCALES)})")
    path = po_path(locale)
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    # Fuzzy entries are never used: a test keeps the catalogues free of them anyway.
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def gettext(locale: str, message: str) -> str:
    return translations(locale).ugettext(message)


def normalize(tag: str | None) -> str | None:
    """A supported locale for a language tag (`zh-CN`, `zh_Hans`, `en-US`, `zh_CN.UTF-8`), else None."""
    if not tag:
        return None
    base = tag.strip().split(".", 1)[0].split("@", 1)[0].replace("_", "-").lower()
    language = base.split("-", 1)[0]
    if language == "zh":
        # Traditional-script tags (zh-TW, zh-Hant) still read Simplified better than English here.
        return "zh_CN"
    if language == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The best supported locale for an Accept-Language header (RFC 9110 q-values), or None."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        fields = part.strip().split(";")
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        locale = normalize(fields[0])
        if locale is not None and quality > 0:
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else None


def cli_locale(environ: dict[str, str] | None = None) -> str:
    """The CLI's language: $CUSTODY_LOCALE, else the usual locale variables, else zh_CN."""
    env = os.environ if environ is None else environ
    explicit = env.get(LOCALE_ENV)
    if explicit:
        locale = normalize(explicit)
        if locale is None:
            raise ValueError(f"{LOCALE_ENV}={explicit!r}: supported are {', '.join(LANGUAGE_TAGS.values())}")
        return locale
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for tag in env.get(name, "").split(":"):
            locale = normalize(tag)
            if locale is not None:
                return locale
    return DEFAULT_LOCALE
