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
# Person conditions in evaluation order; index in this tuple = condition slot.
CONDITIONS = (R_UNACC, R_INSUFF, R_COSUS, R_RECGAP, R_FEMALE)
N_COND = len(CONDITIONS)

# Output tuple kinds.
OUT_ALERT, OUT_LOCATION, OUT_CUSTODY, OUT_TRAIL, OUT_ITEM_TRAIL = 0, 1, 2, 3, 4
CUSTODY_IN, CUSTODY_EXTENDED, CUSTODY_OUT = 0, 1, 2
RAISED, CLEARED = 1, 0

# Timer kinds (TimerKind in the .pxd).
T_LOST, T_COND, T_WARN, T_EXCEED, T_SLOT, T_DOOR, T_OVERDUE = 0, 1, 2, 3, 4, 5, 6

# Item trail event codes (formatted in core_ext/output.py).
IT_INTAKE, IT_WORKORDER, IT_OPEN, IT_WITHDRAWN, IT_RETURNED, IT_DISPOSED = 0, 1, 2, 3, 4, 5
IT_MISSING, IT_UNEXPECTED, IT_OVERDUE, IT_OVERDUE_CLEARED = 6, 7, 8, 9
# Item status.
ITEM_NONE, ITEM_IN, ITEM_OUT, ITEM_DISPOSED = 0, 1, 2, 3

# Person kinds (PersonKind in the .pxd).
KIND_NONE, KIND_STAFF, KIND_IN, KIND_OUT = 0, 1, 2, 3
ZT_SECURITY = vocab.ZONE_TYPE_CODE["security_check"]
ROLE_OFFICER = vocab.ROLE_OFFICER
SEX_F = vocab.SEX_F
W_WITHDRAW, W_RETURN, W_DISPOSE = (vocab.WORKORDER_ACTION_CODE[a] for a in ("withdraw", "return", "dispose"))
CAMERA_RECORDING, CAMERA_ONLINE = vocab.CAMERA_STATE_CODE["recording"], vocab.CAMERA_STATE_CODE["online"]
DOOR_CLOSED, DOOR_FORCED = vocab.DOOR_STATE_CODE["closed"], vocab.DOOR_STATE_CODE["forced"]
LOCKER_OPEN = vocab.LOCKER_STATE_CODE["open"]
