"""The catalogues cover every user-facing string, in both languages, and nothing stale.

Extraction runs the project's own babel.cfg over the sources (python and Jinja2 templates), as
`pybabel extract -F babel.cfg -k N_` does, so a new `_("...")` without a translation fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from core_ext.vocab import RULES
from server.i18n import DEFAULT_LOCALE, LOCALES, cli_locale, negotiate, po_path, translations
from server.i18n.formatting import format_duration, format_ts
from server.i18n.rules import RULE_DESCRIPTIONS, RULE_TITLES, rule_description, rule_title

REPO = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def _extracted() -> dict[str, list[str]]:
    with (REPO / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    found = _extracted()
    assert len(found) > 150, "extraction found almost nothing: is babel.cfg mapping the sources?"
    return found


def _catalogue(locale: str) -> Catalog:
    with po_path(locale).open("rb") as po:
        return read_po(po, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_extracted_msgid_is_translated(extracted, locale):
    catalogue = _catalogue(locale)
    missing = [
        f"{msgid!r} ({where[0]})"
        for msgid, where in sorted(extracted.items())
        if catalogue.get(msgid) is None or not catalogue.get(msgid).string
    ]
    assert not missing, f"{po_path(locale)}: no translation for:\n" + "\n".join(missing)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_stale_fuzzy_or_broken_entries(extracted, locale):
    catalogue = _catalogue(locale)
    entries = [m for m in catalogue if m.id]
    stale = [m.id for m in entries if m.id not in extracted]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert not stale, f"{po_path(locale)}: msgids no source uses (run the update, see docs/glossary.md): {stale}"
    assert not fuzzy, f"{po_path(locale)}: fuzzy entries: {fuzzy}"
    assert not catalogue.obsolete, f"{po_path(locale)}: obsolete entries: {list(catalogue.obsolete)}"
    problems = [f"{m.id!r}: {err}" for m in entries for err in m.check(catalogue)]
    assert not problems, f"{po_path(locale)}: placeholder errors:\n" + "\n".join(problems)


def test_chinese_catalogue_is_chinese(extracted):
    # Every entry with words in it reads in Chinese (placeholders and punctuation aside).
    catalogue = _catalogue("zh_CN")
    untranslated = [
        m.id
        for m in catalogue
        if m.id and re.search(r"[A-Za-z]{3}", re.sub(r"%\(\w+\)[.\d]*\w", "", m.id)) and not CJK.search(m.string)
    ]
    assert not untranslated, f"zh_CN entries still in English: {untranslated}"


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_has_title_and_description_in_both_languages(rule):
    assert rule in RULE_TITLES and rule in RULE_DESCRIPTIONS, f"rule {rule!r} has no texts in core_ext/i18n/rules.py"
    zh_title, en_title = rule_title(rule, "zh_CN"), rule_title(rule, "en")
    zh_text, en_text = rule_description(rule, "zh_CN"), rule_description(rule, "en")
    assert CJK.search(zh_title) and CJK.search(zh_text), (rule, zh_title, zh_text)
    assert not CJK.search(en_title) and not CJK.search(en_text), (rule, en_title, en_text)
    # The English title is a phrase for people, not the contract id.
    assert en_title != rule and " " in en_title, (rule, en_title)
    assert len(en_text) > 20 and len(zh_text) > 8, (rule, en_text, zh_text)


def test_legal_bases_named_in_chinese():
    cited = {
        "time_limit_exceeded": ("刑事诉讼法第119条", "治安管理处罚法", "人民警察法第9条"),
        "insufficient_officers": ("刑事诉讼法第118条",),
        "female_search_without_female_officer": ("刑事诉讼法第132条",),
    }
    for rule, laws in cited.items():
        text = rule_description(rule, "zh_CN")
        for law in laws:
            assert law in text, (rule, law, text)


def test_time_and_duration_formats():
    ts = 1795759509000  # 2026-11-27 06:05:09 UTC
    assert format_ts(ts) == "2026-11-27 14:05:09"  # default site zone Asia/Shanghai
    assert format_ts(ts, "UTC") == "2026-11-27 06:05:09"
    assert format_ts(ts, style="clock") == "14:05:09"
    assert format_ts(ts, style="time") == "14:05"
    assert format_ts(None) == "—"
    seven_twelve = (7 * 60 + 12) * 60_000 + 59_000
    assert format_duration(seven_twelve, "zh_CN") == "7小时12分"
    assert format_duration(seven_twelve, "en") == "7 h 12 min"
    assert format_duration(65_000, "zh_CN") == "1分5秒"
    assert format_duration(-65_000, "en") == "-1 min 5 s"


def test_locale_negotiation():
    assert negotiate(None) is None and negotiate("fr-FR") is None
    assert negotiate("en-US,en;q=0.9") == "en"
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert negotiate("en;q=0.5, zh-Hans;q=0.8") == "zh_CN"
    assert negotiate("fr, en;q=0.3") == "en"
    assert negotiate("en;q=0") is None
    assert DEFAULT_LOCALE == "zh_CN"
    assert cli_locale({}) == "zh_CN" and cli_locale({"LANG": "C.UTF-8"}) == "zh_CN"
    assert cli_locale({"LANG": "en_US.UTF-8"}) == "en"
    assert cli_locale({"LANG": "en_US.UTF-8", "CUSTODY_LOCALE": "zh-CN"}) == "zh_CN"
    with pytest.raises(ValueError, match="CUSTODY_LOCALE"):
        cli_locale({"CUSTODY_LOCALE": "klingon"})


def test_translations_load_from_po_files():
    assert translations("zh_CN").ugettext("Live board") == "实时看板"
    assert translations("en").ugettext("criminal_summons") == "Criminal summons"
    with pytest.raises(ValueError, match="unknown locale"):
        translations("fr")


def test_desk_validation_messages_in_both_languages():
    from gateway.desk.messages import validation_detail

    errors = [
        {"type": "missing", "loc": ("body", "case"), "msg": "Field required"},
        {"type": "literal_error", "loc": ("body", "sex"), "msg": "x", "ctx": {"expected": "'M' or 'F'"}},
        {"type": "greater_than", "loc": ("body", "limit_h"), "msg": "x", "ctx": {"gt": 0}},
        {"type": "some_future_type", "loc": ("body", "x"), "msg": "x"},
    ]
    zh = validation_detail(errors, "zh_CN")
    en = validation_detail(errors, "en")
    assert [e["loc"] for e in zh] == [["body", "case"], ["body", "sex"], ["body", "limit_h"], ["body", "x"]]
    assert [e["msg"] for e in zh] == ["此项为必填项", "须为以下之一：'M' or 'F'", "须大于 0", "取值无效"]
    assert [e["msg"] for e in en] == [
        "this field is required",
        "must be one of: 'M' or 'F'",
        "must be greater than 0",
        "invalid value",
    ]
    assert zh[1]["type"] == "literal_error" and zh[1]["ctx"] == {"expected": "'M' or 'F'"}


def test_english_catalogue_is_english():
    catalogue = _catalogue("en")
    chinese = [m.id for m in catalogue if m.id and CJK.search(m.string)]
    assert not chinese, f"en entries in Chinese: {chinese}"
