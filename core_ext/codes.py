"""Integer codes shared by both engines, the property ledger and the output formatter.

Mirrored as enums in core_ext/_engine.pxd where the compiled core needs them in C.
"""

from __future__ import annotations

from core_ext import vocab

R = vocab.RULE_CODE
R_WARN, R_EXCEEDED = R["time_limit_warning"], R["time_limit_exceeded"]
R_UNACC, R_INSUFF, R_COSUS = R["unaccompanied"], R["insufficient_officers"], R["co_suspects_together"]
R_RECGAP, R_LOST, R_FLOW = R["recording_gap"], R["tag_lost"], R["flow_violation"]
R_INCOMPLETE, R_FEMALE = R["incomplete_exit"], R["female_search_without_female_officer"]
R_UNAUTH, R_MISMATCH, R_OVERDUE = R["locker_unauthorized_open"], R["item_mismatch"], R["item_overdue"]
R_SLOT_OPEN, R_DOOR_FORCED, R_DOOR_HELD = R["slot_left_open"], R["door_forced"], R["door_held_open"]
R_VULN_WAIT, R_MIXED, R_MINOR_GUARD = R["vulnerable_in_waiting"], R["mixed_sex_waiting"], R["minor_without_guardian"]
R_FEMALE_MINOR, R_TEMP_EXIT, R_TRANSFER = (
    R["female_minor_without_female_staff"],
    R["temp_exit_overdue"],
    R["transfer_overdue"],
)
R_BELONGINGS, R_NIGHT, R_MEAL = R["belongings_not_returned"], R["vulnerable_night_release"], R["meal_overdue"]
R_INTAKE_OVERDUE, R_UNAPPROVED = R["intake_overdue"], R["workorder_unapproved"]
# Person conditions in evaluation order; index in this tuple = condition slot.
CONDITIONS = (R_UNACC, R_INSUFF, R_COSUS, R_RECGAP, R_FEMALE, R_VULN_WAIT, R_MIXED, R_MINOR_GUARD, R_FEMALE_MINOR)
N_COND = len(CONDITIONS)

# Output tuple kinds.
OUT_ALERT, OUT_LOCATION, OUT_CUSTODY, OUT_TRAIL, OUT_ITEM_TRAIL = 0, 1, 2, 3, 4
CUSTODY_IN, CUSTODY_EXTENDED, CUSTODY_OUT = 0, 1, 2
RAISED, CLEARED = 1, 0

# Timer kinds (TimerKind in the .pxd).
T_LOST, T_COND, T_WARN, T_EXCEED, T_SLOT, T_DOOR, T_OVERDUE = 0, 1, 2, 3, 4, 5, 6
T_MEAL, T_TRANSFER, T_TEMP_EXIT, T_INTAKE = 7, 8, 9, 10
# Same-instant order of timers (DESIGN §6.2 "Same-instant order"): lost tags, then grace
# deadlines, then time limits (and the second layer's meal, transfer and temporary-exit
# deadlines), then property timers; within one class, in the order they were armed.
TIMER_CLASS = (0, 1, 2, 2, 3, 3, 3, 2, 2, 2, 3)

# Item trail event codes (formatted in core_ext/output.py).
IT_INTAKE, IT_WORKORDER, IT_OPEN, IT_WITHDRAWN, IT_RETURNED, IT_DISPOSED = 0, 1, 2, 3, 4, 5
IT_MISSING, IT_UNEXPECTED, IT_OVERDUE, IT_OVERDUE_CLEARED = 6, 7, 8, 9
IT_RELEASED, IT_SEIZURE, IT_UNLOCK, IT_INTAKE_OVERDUE, IT_INTAKE_OVERDUE_CLEARED = 10, 11, 12, 13, 14
# Item status.
ITEM_NONE, ITEM_IN, ITEM_OUT, ITEM_DISPOSED, ITEM_RELEASED = 0, 1, 2, 3, 4

# Person kinds (PersonKind in the .pxd).
KIND_NONE, KIND_STAFF, KIND_IN, KIND_OUT, KIND_GUARDIAN = 0, 1, 2, 3, 4
ZT_SECURITY = vocab.ZONE_TYPE_CODE["security_check"]
ZT_WAITING = vocab.ZONE_TYPE_CODE["waiting"]
ZT_INTERROGATION, ZT_QUESTIONING = vocab.ZONE_TYPE_CODE["interrogation"], vocab.ZONE_TYPE_CODE["questioning"]
ROLE_OFFICER = vocab.ROLE_OFFICER
SEX_F = vocab.SEX_F
W_WITHDRAW, W_RETURN, W_DISPOSE, W_RELEASE = (
    vocab.WORKORDER_ACTION_CODE[a] for a in ("withdraw", "return", "dispose", "release")
)
WELFARE_MEAL = vocab.WELFARE_KIND_CODE["meal"]
CUSTODY_DECISION, CUSTODY_LEAVE, CUSTODY_RETURN = 3, 4, 5

# Check-in record flags (bits of the record's t4; the guardian's person id + 1 sits above them).
FLAG_EXTENDED, FLAG_MINOR, FLAG_VULNERABLE, FLAG_PREGNANT = 1, 2, 4, 8
GUARDIAN_SHIFT = 16
# Check-out record flags.
CO_NIGHT_UNESCORTED, CO_BELONGINGS_KEPT = 1, 2
CAMERA_RECORDING, CAMERA_ONLINE = vocab.CAMERA_STATE_CODE["recording"], vocab.CAMERA_STATE_CODE["online"]
DOOR_CLOSED, DOOR_FORCED = vocab.DOOR_STATE_CODE["closed"], vocab.DOOR_STATE_CODE["forced"]
LOCKER_OPEN = vocab.LOCKER_STATE_CODE["open"]
