"""Words the pages translate at run time (`_(alert.rule)`, `_(user.role)` ...).

Babel cannot find a msgid inside a variable, so they are listed here, marked with N_ (the
gettext no-op) for extraction: `pybabel extract -k N_ ...` puts them in the catalogue.
"""
from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext_noop name
    return message


ROLES = [N_("admin"), N_("center_monitor"), N_("area_staff"), N_("property_custodian"),
         N_("officer"), N_("custodian"), N_("doctor"), N_("suspect"), N_("witness"), N_("victim"), N_("other")]
SITE_KINDS = [N_("handling_area"), N_("property_room")]
ZONE_TYPES = [N_("entry"), N_("registration"), N_("security_check"), N_("info_collection"), N_("waiting"),
              N_("interrogation"), N_("questioning"), N_("identification"), N_("medical"), N_("rest"),
              N_("belongings"), N_("corridor"), N_("exit"), N_("property_store"), N_("unknown")]
BASES = [N_("criminal_summons"), N_("criminal_compelled"), N_("admin_summons"), N_("continued_questioning")]
RULES = [N_("time_limit_warning"), N_("time_limit_exceeded"), N_("unaccompanied"), N_("insufficient_officers"),
         N_("co_suspects_together"), N_("recording_gap"), N_("tag_lost"), N_("flow_violation"),
         N_("incomplete_exit"), N_("female_search_without_female_officer"), N_("locker_unauthorized_open"),
         N_("item_mismatch"), N_("item_overdue"), N_("slot_left_open"), N_("door_forced"), N_("door_held_open")]
STATES = [N_("open"), N_("acknowledged"), N_("resolved"), N_("in"), N_("out"), N_("disposed"),
          N_("intake"), N_("workorder"), N_("locker"), N_("withdraw"), N_("return"), N_("dispose")]
SEXES = [N_("M"), N_("F")]

# Every run-time msgid above, handed to the scripts in the page's i18n block.
ALL = [*ROLES, *SITE_KINDS, *ZONE_TYPES, *BASES, *RULES, *STATES, *SEXES]
