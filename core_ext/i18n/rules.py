"""Title and description of every alert rule (DESIGN §3), for the pages, the report and the desk API.

The rule ids are contracts and stay as they are on the wire; a user reads these texts. The
Chinese catalogue names the legal basis where one applies (刑事诉讼法第118条/第119条, 人民警察法
第9条, 治安管理处罚法 ...); tests/i18n checks every rule of core_ext.vocab.RULES has both texts
in both languages.
"""
from __future__ import annotations

from core_ext.i18n import N_, gettext

# Titles use the rule id itself as msgid: the pages already translate `_(alert.rule)`.
RULE_TITLES: dict[str, str] = {
    "time_limit_warning": N_("time_limit_warning"),
    "time_limit_exceeded": N_("time_limit_exceeded"),
    "unaccompanied": N_("unaccompanied"),
    "insufficient_officers": N_("insufficient_officers"),
    "co_suspects_together": N_("co_suspects_together"),
    "recording_gap": N_("recording_gap"),
    "tag_lost": N_("tag_lost"),
    "flow_violation": N_("flow_violation"),
    "incomplete_exit": N_("incomplete_exit"),
    "female_search_without_female_officer": N_("female_search_without_female_officer"),
    "locker_unauthorized_open": N_("locker_unauthorized_open"),
    "item_mismatch": N_("item_mismatch"),
    "item_overdue": N_("item_overdue"),
    "slot_left_open": N_("slot_left_open"),
    "door_forced": N_("door_forced"),
    "door_held_open": N_("door_held_open"),
    "vulnerable_in_waiting": N_("vulnerable_in_waiting"),
    "mixed_sex_waiting": N_("mixed_sex_waiting"),
    "minor_without_guardian": N_("minor_without_guardian"),
    "female_minor_without_female_staff": N_("female_minor_without_female_staff"),
    "temp_exit_overdue": N_("temp_exit_overdue"),
    "transfer_overdue": N_("transfer_overdue"),
    "belongings_not_returned": N_("belongings_not_returned"),
    "vulnerable_night_release": N_("vulnerable_night_release"),
    "meal_overdue": N_("meal_overdue"),
    "intake_overdue": N_("intake_overdue"),
    "workorder_unapproved": N_("workorder_unapproved"),
}

RULE_DESCRIPTIONS: dict[str, str] = {
    "time_limit_warning": N_("The subject is approaching the legal custody time limit (limit minus the warning time, "
                             "default 60 minutes); arrange questioning, release or an approved extension."),
    "time_limit_exceeded": N_("The subject is still checked in at the legal time limit counted from arrival "
                              "(criminal summons or compelled appearance: 12 h, 24 h extended, Criminal Procedure "
                              "Law art. 119; administrative summons: 8 h; continued questioning: 12 h, 4 h for a vulnerable "
                              "person)."),
    "unaccompanied": N_("The subject has been in a zone with no officer for longer than the grace period; "
                        "someone must watch a person in custody at all times."),
    "insufficient_officers": N_("The subject is in an interrogation or questioning room with fewer officers than "
                                "required (default 2; Criminal Procedure Law art. 118: interrogation by at least "
                                "two investigators)."),
    "co_suspects_together": N_("Two subjects of the same case are in one zone that must keep co-suspects apart "
                               "(separate questioning, preventing collusion)."),
    "recording_gap": N_("The subject is in a zone that requires recording while none of its cameras records "
                        "(full, uninterrupted audio and video recording)."),
    "tag_lost": N_("The subject's wristband has not been read for longer than allowed: possible escape or a "
                   "blind spot in reader coverage."),
    "flow_violation": N_("The subject moved between zones along a route the site's one-way flow does not allow."),
    "incomplete_exit": N_("The subject was checked out without visiting every required step (for example "
                          "security check, information collection): the loop is not closed."),
    "female_search_without_female_officer": N_("A female subject is in the security check zone with no female "
                                               "staff present (Criminal Procedure Law art. 132 and 139: a woman's "
                                               "body is searched by female staff)."),
    "locker_unauthorized_open": N_("A locker slot opened with no intake or approved work order covering it "
                                   "(case handling and custody of property are separated)."),
    "item_mismatch": N_("After the slot closed, the items sensed in it differ from the ledger: an item is "
                        "missing or an unknown item is present (possible swap or loss)."),
    "item_overdue": N_("A withdrawn item has not been returned by its due time."),
    "slot_left_open": N_("A locker slot has stayed open longer than allowed."),
    "door_forced": N_("A door reported being forced open."),
    "door_held_open": N_("A door has stayed open longer than allowed."),
    "vulnerable_in_waiting": N_("A vulnerable subject under continued questioning (under 16, 70 or older, pregnant or nursing an infant under one year) is in a waiting room (Continued Questioning Provisions art. 10: never held in a waiting room)."),
    "mixed_sex_waiting": N_("Subjects of different sex are held in the same waiting room (Continued Questioning Provisions art. 30)."),
    "minor_without_guardian": N_("A minor is in an interrogation or questioning room and none of their guardians or appropriate adults is present (Criminal Procedure Law art. 281)."),
    "female_minor_without_female_staff": N_("A female minor is in an interrogation or questioning room with no female staff present (Criminal Procedure Law art. 281)."),
    "temp_exit_overdue": N_("A subject who left the area temporarily (scene identification, recovering stolen goods, medical care) is not back by the approved time (case-handling area rules art. 4 and 5)."),
    "transfer_overdue": N_("A subject under a detention or arrest decision is still in the area 24 hours after the decision (Criminal Procedure Law art. 85: delivered to the detention house within 24 hours)."),
    "belongings_not_returned": N_("The subject was checked out while belongings they deposited are still held and no reason to keep them was recorded (Continued Questioning Provisions art. 32)."),
    "vulnerable_night_release": N_("A vulnerable subject was released between 21:00 and 07:00 site time without being handed to family or a guardian (Continued Questioning Provisions art. 10)."),
    "meal_overdue": N_("The subject has gone longer than the site's meal interval since check-in or the last meal (Continued Questioning Provisions art. 34; meals and rest are recorded)."),
    "intake_overdue": N_("A seized item has not been taken into the property room within 24 hours of seizure (property management rules)."),
    "workorder_unapproved": N_("A work order arrived without an approver, or approved by the person who requested or executes it, on a site that requires approval (handling and custody separated)."),
}

SEVERITY_TITLES: dict[str, str] = {
    "critical": N_("critical"), "high": N_("high"), "medium": N_("medium"), "warning": N_("warning"),
}


def severity_title(severity: str, locale: str) -> str:
    return gettext(locale, SEVERITY_TITLES[severity]) if severity in SEVERITY_TITLES else severity


def rule_title(rule: str, locale: str) -> str:
    """The rule's title in `locale`; an id the catalogue does not know is shown as it is."""
    return gettext(locale, RULE_TITLES[rule]) if rule in RULE_TITLES else rule


def rule_description(rule: str, locale: str) -> str:
    return gettext(locale, RULE_DESCRIPTIONS[rule]) if rule in RULE_DESCRIPTIONS else ""
