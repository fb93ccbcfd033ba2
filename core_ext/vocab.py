"""The engine's vocabulary: zone types, roles, legal bases, rule ids and their integer codes.

These integer codes are shared by the pure-Python engine, the Cython core (core_ext/_engine.pxd
repeats them as enums) and the packed event records. The string names are contracts
(DESIGN §6): never rename them, only append.
"""
from __future__ import annotations

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
ROLES: tuple[str, ...] = STAFF_ROLES + SUBJECT_ROLES
ROLE_CODE = {name: i for i, name in enumerate(ROLES)}
ROLE_OFFICER = ROLE_CODE["officer"]

SEXES: tuple[str, ...] = ("M", "F")
SEX_CODE = {name: i for i, name in enumerate(SEXES)}
SEX_F = SEX_CODE["F"]

# Legal bases and their default limits in hours: (limit, extended tiers ascending).
# admin_summons has two extended tiers (12 h: many people / identity unknown; 24 h: detention
# possible); the others have one.
BASES: tuple[str, ...] = ("criminal_summons", "criminal_compelled", "admin_summons", "continued_questioning")
BASIS_CODE = {name: i for i, name in enumerate(BASES)}
DEFAULT_TIME_LIMITS_H: dict[str, tuple[float, tuple[float, ...]]] = {
    "criminal_summons": (12, (24,)),
    "criminal_compelled": (12, (24,)),
    "admin_summons": (8, (12, 24)),
    "continued_questioning": (24, (48,)),
}

# Rule ids (DESIGN §3), in code order. Never reorder: the Cython core mirrors these codes.
RULES: tuple[str, ...] = (
    "time_limit_warning", "time_limit_exceeded", "unaccompanied", "insufficient_officers",
    "co_suspects_together", "recording_gap", "tag_lost", "flow_violation", "incomplete_exit",
    "female_search_without_female_officer", "locker_unauthorized_open", "item_mismatch",
    "item_overdue", "slot_left_open", "door_forced", "door_held_open",
)
RULE_CODE = {name: i for i, name in enumerate(RULES)}

# Condition rules about a subject, evaluated while the subject is checked in and located.
PERSON_CONDITIONS: tuple[str, ...] = (
    "unaccompanied", "insufficient_officers", "co_suspects_together", "recording_gap",
    "female_search_without_female_officer",
)

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
}

CAMERA_STATES: tuple[str, ...] = ("recording", "stopped", "offline", "online")
CAMERA_STATE_CODE = {name: i for i, name in enumerate(CAMERA_STATES)}
DOOR_STATES: tuple[str, ...] = ("open", "closed", "forced")
DOOR_STATE_CODE = {name: i for i, name in enumerate(DOOR_STATES)}
LOCKER_STATES: tuple[str, ...] = ("open", "closed")
LOCKER_STATE_CODE = {name: i for i, name in enumerate(LOCKER_STATES)}
WORKORDER_ACTIONS: tuple[str, ...] = ("withdraw", "return", "dispose")
WORKORDER_ACTION_CODE = {name: i for i, name in enumerate(WORKORDER_ACTIONS)}

# Event type codes of packed records.
EVENT_TYPES: tuple[str, ...] = (
    "enroll", "checkin", "extend", "checkout", "tag_seen", "camera", "door", "badge", "intake",
    "workorder", "locker",
)
EVENT_TYPE_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}

# Second layer (DESIGN §6.2 "Second layer"): enumerated fields of the new events and fields.
CHECKOUT_OUTCOMES: tuple[str, ...] = (
    "released", "criminal_detention", "admin_detention", "bail", "residential_surveillance", "transferred", "other",
)
BELONGINGS_STATES: tuple[str, ...] = ("returned", "kept")
LEAVE_REASONS: tuple[str, ...] = ("identify_scene", "recover_stolen", "medical", "other")
DECISION_KINDS: tuple[str, ...] = ("criminal_detention", "admin_detention", "arrest")
WELFARE_KINDS: tuple[str, ...] = ("meal", "rest", "water", "toilet", "medical_check")
