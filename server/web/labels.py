"""Words the pages translate at run time (`_(alert.rule)`, `_(user.role)` ...).

Babel cannot find a msgid inside a variable, so they are listed here, marked with N_ (the
gettext no-op) for extraction: `pybabel extract -k N_ ...` puts them in the catalogue.
"""
from __future__ import annotations

from core_ext.i18n.rules import RULE_TITLES


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext_noop name
    return message


ROLES = [N_("admin"), N_("center_monitor"), N_("area_staff"), N_("property_custodian"),
         N_("officer"), N_("custodian"), N_("doctor"), N_("suspect"), N_("witness"), N_("victim"), N_("other"),
         N_("guardian")]
SITE_KINDS = [N_("handling_area"), N_("property_room")]
ZONE_TYPES = [N_("entry"), N_("registration"), N_("security_check"), N_("info_collection"), N_("waiting"),
              N_("interrogation"), N_("questioning"), N_("identification"), N_("medical"), N_("rest"),
              N_("belongings"), N_("corridor"), N_("exit"), N_("property_store"), N_("unknown")]
BASES = [N_("criminal_summons"), N_("criminal_compelled"), N_("admin_summons"), N_("continued_questioning")]
# Every rule of the vocabulary: its title's msgid is the rule id (core_ext/i18n/rules.py marks them).
RULES = list(RULE_TITLES)
STATES = [N_("open"), N_("acknowledged"), N_("resolved"), N_("in"), N_("out"), N_("disposed"),
          N_("intake"), N_("workorder"), N_("locker"), N_("withdraw"), N_("return"), N_("dispose")]
SEXES = [N_("M"), N_("F")]

# Second-layer values (core_ext/vocab.py), qualified by their field: some words mean another thing
# elsewhere ("medical" is a zone type and a reason to leave, "other" a role and an outcome).
# Pages look them up as label(value, "outcome"), scripts as word("outcome", value).
OUTCOMES = [N_("outcome:released"), N_("outcome:criminal_detention"), N_("outcome:admin_detention"),
            N_("outcome:bail"), N_("outcome:residential_surveillance"), N_("outcome:transferred"),
            N_("outcome:other")]
LEAVE_REASONS = [N_("leave_reason:identify_scene"), N_("leave_reason:recover_stolen"), N_("leave_reason:medical"),
                 N_("leave_reason:other")]
DECISION_KINDS = [N_("decision:criminal_detention"), N_("decision:admin_detention"), N_("decision:arrest")]
WELFARE_KINDS = [N_("welfare:meal"), N_("welfare:rest"), N_("welfare:water"), N_("welfare:toilet"),
                 N_("welfare:medical_check")]
BELONGINGS = [N_("belongings:returned"), N_("belongings:kept")]
SECOND_LAYER = [*OUTCOMES, *LEAVE_REASONS, *DECISION_KINDS, *WELFARE_KINDS, *BELONGINGS]

# Every run-time msgid above, handed to the scripts in the page's i18n block.
ALL = [*ROLES, *SITE_KINDS, *ZONE_TYPES, *BASES, *RULES, *STATES, *SEXES, *SECOND_LAYER]
