"""The engine's vocabulary: zone types, roles, legal bases, rule ids and their integer codes.

These integer codes are shared by the pure-Python engine, the Cython core (core_ext/_engine.pxd
repeats them as enums) and the packed event records. The string names are contracts
(DESIGN §6): never rename them, only append.
"""
from __future__ import annotations

from typing import Any, Literal

ZONE_TYPES: tuple[str, ...] = (
    "entry", "registration", "security_check", "info_collection", "waiting", "interrogation",
    "questioning", "identification", "medical", "rest", "belongings", "corridor", "exit",
    "property_store",
)
ZONE_TYPE_CODE = {name: i for i, name in enumerate(ZONE_TYPES)}

# Zone types where co-suspects must be kept apart unless the zone says otherwise.
SEPARATING_ZONE_TYPES = frozenset({"waiting", "interrogation", "questioning", "rest"})
# Zone types where two investigators are required (CPL art. 118).
TWO_OFFICER_ZONE_TYPES = frozenset({"interrogation", "questioning"})

STAFF_ROLES: tuple[str, ...] = ("officer", "custodian", "doctor")
SUBJECT_ROLES: tuple[str, ...] = ("suspect", "witness", "victim", "other")
# Second layer: a guardian (法定代理人 or 合适成年人) is enrolled like staff but is neither staff
# nor subject (DESIGN §6.2 "Guardians").
GUARDIAN_ROLE = "guardian"
ENROLL_ROLES: tuple[str, ...] = STAFF_ROLES + (GUARDIAN_ROLE,)
ROLES: tuple[str, ...] = STAFF_ROLES + SUBJECT_ROLES + (GUARDIAN_ROLE,)
ROLE_CODE = {name: i for i, name in enumerate(ROLES)}
ROLE_OFFICER = ROLE_CODE["officer"]
ROLE_GUARDIAN = ROLE_CODE[GUARDIAN_ROLE]

SEXES: tuple[str, ...] = ("M", "F")
SEX_CODE = {name: i for i, name in enumerate(SEXES)}
SEX_F = SEX_CODE["F"]

# Legal bases and their default limits in hours: (limit, extended tiers ascending).
# admin_summons has two extended tiers (12 h: many people / identity unknown; 24 h: detention
# possible); continued_questioning climbs 12 → 24 → 48 one tier at a time (继续盘问规定 art. 11,
# 17; STEPWISE_BASES); the others have one.
BASES: tuple[str, ...] = ("criminal_summons", "criminal_compelled", "admin_summons", "continued_questioning")
BASIS_CODE = {name: i for i, name in enumerate(BASES)}
DEFAULT_TIME_LIMITS_H: dict[str, tuple[float, tuple[float, ...]]] = {
    "criminal_summons": (12, (24,)),
    "criminal_compelled": (12, (24,)),
    "admin_summons": (8, (12, 24)),
    "continued_questioning": (12, (24, 48)),
}
# Bases whose extended tiers are climbed one at a time by default (config: time_limits.<basis>.stepwise).
STEPWISE_BASES = frozenset({"continued_questioning"})
# The basis under which vulnerable subjects (under 16, 70 or older, pregnant or nursing) get
# their own short limit, and its default in hours (继续盘问规定 art. 10).
VULNERABLE_BASIS = "continued_questioning"
DEFAULT_VULNERABLE_LIMIT_H = 4
VULNERABLE_UNDER_AGE, VULNERABLE_FROM_AGE, MINOR_UNDER_AGE = 16, 70, 18

# Rule ids (DESIGN §3), in code order. Never reorder: the Cython core mirrors these codes.
RULES: tuple[str, ...] = (
    "time_limit_warning", "time_limit_exceeded", "unaccompanied", "insufficient_officers",
    "co_suspects_together", "recording_gap", "tag_lost", "flow_violation", "incomplete_exit",
    "female_search_without_female_officer", "locker_unauthorized_open", "item_mismatch",
    "item_overdue", "slot_left_open", "door_forced", "door_held_open",
    # second layer (DESIGN §3 "The second layer"), appended
    "vulnerable_in_waiting", "mixed_sex_waiting", "minor_without_guardian",
    "female_minor_without_female_staff", "temp_exit_overdue", "transfer_overdue",
    "belongings_not_returned", "vulnerable_night_release", "meal_overdue", "intake_overdue",
    "workorder_unapproved",
)
# The rules of the first release (the scenario generator can inject these).
FIRST_LAYER_RULES: tuple[str, ...] = RULES[:16]
RULE_CODE = {name: i for i, name in enumerate(RULES)}

# Condition rules about a subject, evaluated while the subject is checked in and located.
PERSON_CONDITIONS: tuple[str, ...] = (
    "unaccompanied", "insufficient_officers", "co_suspects_together", "recording_gap",
    "female_search_without_female_officer",
    "vulnerable_in_waiting", "mixed_sex_waiting", "minor_without_guardian",
    "female_minor_without_female_staff",
)
# Rules that are only raised, never cleared (DESIGN §6.2 "Raised and cleared").
ONE_SHOT_RULES: tuple[str, ...] = (
    "flow_violation", "incomplete_exit", "locker_unauthorized_open", "item_mismatch", "door_forced",
    "belongings_not_returned", "vulnerable_night_release", "workorder_unapproved",
)
# What an alert's `subject` names, per rule (DESIGN §6.2 "Subjects of alerts").
SLOT_SUBJECT_RULES: tuple[str, ...] = ("locker_unauthorized_open", "item_mismatch", "slot_left_open",
                                       "workorder_unapproved")
ITEM_SUBJECT_RULES: tuple[str, ...] = ("item_overdue", "intake_overdue")
DOOR_SUBJECT_RULES: tuple[str, ...] = ("door_forced", "door_held_open")
PERSON_SUBJECT_RULES: tuple[str, ...] = tuple(
    r for r in RULES if r not in SLOT_SUBJECT_RULES + ITEM_SUBJECT_RULES + DOOR_SUBJECT_RULES)

SEVERITY: dict[str, str] = {
    "time_limit_warning": "warning",
    "time_limit_exceeded": "critical",
    "unaccompanied": "critical",
    "insufficient_officers": "high",
    "co_suspects_together": "high",
    "recording_gap": "high",
    "tag_lost": "critical",
    "flow_violation": "medium",
    "incomplete_exit": "medium",
    "female_search_without_female_officer": "high",
    "locker_unauthorized_open": "critical",
    "item_mismatch": "critical",
    "item_overdue": "medium",
    "slot_left_open": "medium",
    "door_forced": "critical",
    "door_held_open": "medium",
    "vulnerable_in_waiting": "critical",
    "mixed_sex_waiting": "high",
    "minor_without_guardian": "high",
    "female_minor_without_female_staff": "high",
    "temp_exit_overdue": "critical",
    "transfer_overdue": "high",
    "belongings_not_returned": "medium",
    "vulnerable_night_release": "high",
    "meal_overdue": "medium",
    "intake_overdue": "medium",
    "workorder_unapproved": "high",
}

CAMERA_STATES: tuple[str, ...] = ("recording", "stopped", "offline", "online")
CAMERA_STATE_CODE = {name: i for i, name in enumerate(CAMERA_STATES)}
DOOR_STATES: tuple[str, ...] = ("open", "closed", "forced")
DOOR_STATE_CODE = {name: i for i, name in enumerate(DOOR_STATES)}
LOCKER_STATES: tuple[str, ...] = ("open", "closed")
LOCKER_STATE_CODE = {name: i for i, name in enumerate(LOCKER_STATES)}
WORKORDER_ACTIONS: tuple[str, ...] = ("withdraw", "return", "dispose", "release")
WORKORDER_ACTION_CODE = {name: i for i, name in enumerate(WORKORDER_ACTIONS)}

# Event type codes of packed records.
EVENT_TYPES: tuple[str, ...] = (
    "enroll", "checkin", "extend", "checkout", "tag_seen", "camera", "door", "badge", "intake",
    "workorder", "locker",
    # second layer, appended
    "leave", "return", "decision", "welfare", "seizure", "unlock",
)
EVENT_TYPE_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}

# Second-layer enumerations (DESIGN §6.2 "Second layer"). Append only.
OUTCOMES: tuple[str, ...] = ("released", "criminal_detention", "admin_detention", "bail",
                             "residential_surveillance", "transferred", "other")
OUTCOME_CODE = {name: i for i, name in enumerate(OUTCOMES)}
# Outcomes after which a vulnerable subject released at night must be handed to someone.
RELEASE_OUTCOMES = frozenset({"released"})
BELONGINGS: tuple[str, ...] = ("returned", "kept")
BELONGINGS_CODE = {name: i for i, name in enumerate(BELONGINGS)}
LEAVE_REASONS: tuple[str, ...] = ("identify_scene", "recover_stolen", "medical", "other")
LEAVE_REASON_CODE = {name: i for i, name in enumerate(LEAVE_REASONS)}
DECISION_KINDS: tuple[str, ...] = ("criminal_detention", "admin_detention", "arrest")
DECISION_KIND_CODE = {name: i for i, name in enumerate(DECISION_KINDS)}
WELFARE_KINDS: tuple[str, ...] = ("meal", "rest", "water", "toilet", "medical_check")
WELFARE_KIND_CODE = {name: i for i, name in enumerate(WELFARE_KINDS)}
# Night for vulnerable_night_release: local site time in [start, end) across midnight.
NIGHT_START_H, NIGHT_END_H = 21, 7
DEFAULT_TIMEZONE = "Asia/Shanghai"

# Kinds of site (DESIGN §6.1 `site.kind`) and the states of an alert record (DESIGN §6.3).
SITE_KINDS: tuple[str, ...] = ("handling_area", "property_room")
ALERT_STATES: tuple[str, ...] = ("raised", "cleared")
# States of a custody record (DESIGN §6.3 gateway kinds), in the engine's code order.
CUSTODY_STATES: tuple[str, ...] = ("in", "extended", "out", "decision", "leave", "return")


def one_of(values: tuple[str, ...]) -> Any:
    """`Literal[...]` of a vocabulary tuple, built at import so that appended values flow into
    every validator (pydantic, msgspec, FastAPI) derived from it. mypy cannot read a Literal built
    at run time: declare the name as `str` under `if TYPE_CHECKING:` and use this in the else."""
    return Literal[tuple(dict.fromkeys(values))]
