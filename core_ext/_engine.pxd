# The compiled custody engine's contract: the codes it works in (enums), the C records it works
# on (structs) and the engine class with everything another Cython module may call on it (cimport
# core_ext._engine). The .pyx implements what is declared here; its Python-level interface is
# typed in _engine.pyi and held to core_ext/core.py's EngineCore protocol by mypy.
#
# Every enum value mirrors a code of core_ext/vocab.py or core_ext/codes.py (the pure-Python
# twin's codes); tests/engine/test_core_contract.py fails when one diverges or an enum member has
# no counterpart there. Use these names in the .pyx, never the bare numbers.
from libc.stdint cimport int32_t, int64_t, uint8_t

cdef enum EventType:          # vocab.EVENT_TYPES order
    E_ENROLL = 0
    E_CHECKIN = 1
    E_EXTEND = 2
    E_CHECKOUT = 3
    E_TAG = 4
    E_CAMERA = 5
    E_DOOR = 6
    E_BADGE = 7
    E_INTAKE = 8
    E_WORKORDER = 9
    E_LOCKER = 10
    E_LEAVE = 11              # second layer
    E_RETURN = 12
    E_DECISION = 13
    E_WELFARE = 14
    E_SEIZURE = 15
    E_UNLOCK = 16

# One decoded event, 32 bytes: tag reads (nearly all traffic) need nothing more, so the hot
# loop streams half the memory it would with every field inline. core_ext/events.py builds the
# same fields as a tuple.
cdef struct EventRec:
    int64_t ts                # gateway receipt time, ms since the epoch
    int32_t etype             # EventType
    int32_t a                 # person | camera | door | item | workorder | slot (by type)
    int32_t b                 # role | zone (tag_seen) | state | case | item | bank (badge)
    int32_t c                 # sex | reader | slot | door (badge)
    int32_t d                 # basis | by | action | reader (badge)
    int32_t x                 # index of this event's EventExtra, -1 when it has none

# The rest of a rare event (check-in, extension, work order, locker close).
cdef struct EventExtra:
    int64_t t2                # checkin: arrived_ts; workorder: valid_from
    int64_t t3                # checkin/extend: limit ms; workorder: valid_until
    int64_t t4                # checkin: flags; workorder: due_ts (-1 none)
    int32_t e                 # case | by
    int32_t items_off         # locker: first sensed item in the side array
    int32_t items_len         # locker: number of sensed items, -1 when not sensed
    int32_t pad

cdef enum TimerKind:
    T_LOST = 0                # a person's tag unread for lost_after (lazily re-armed on reads)
    T_COND = 1                # a person condition's grace ends (ident = person * N_COND + cond)
    T_WARN = 2                # time-limit warning deadline
    T_EXCEED = 3              # time-limit deadline
    T_SLOT = 4                # slot open longer than slot_open_max
    T_DOOR = 5                # door open longer than door_open_max
    T_OVERDUE = 6             # withdrawn item not back by due_ts
    T_MEAL = 7                # meal_interval after check-in or the last meal
    T_TRANSFER = 8            # transfer deadline after a detention decision
    T_TEMP_EXIT = 9           # a temporary exit's until_ts
    T_INTAKE = 10             # a seized item not taken in within intake_within

# A pending deadline. Heap order is (deadline, cls, seq): the same order heapq gives the twin.
# cls is codes.TIMER_CLASS[kind] (lost tags, grace deadlines, time limits, property timers);
# seq the arm order (for a lost tag, the ordinal of the event that set the person's anchor).
cdef struct Timer:
    int64_t deadline
    int64_t seq
    int32_t kind              # TimerKind
    int32_t ident
    int32_t gen               # valid only while equal to the owner's generation
    int32_t cls

cdef enum PersonKind:
    KIND_NONE = 0
    KIND_STAFF = 1
    KIND_IN = 2               # a subject checked in
    KIND_OUT = 3              # a subject checked out
    KIND_GUARDIAN = 4         # a guardian: neither staff nor subject

# Hot per-person state, one struct per interned person.
cdef struct PersonState:
    int64_t anchor            # later of check-in and last read: the lost deadline counts from here
    int64_t last_read         # -1 never read
    int64_t lost              # ts tag_lost was raised, -1 when not lost
    int64_t anchor_ord        # ordinal of the event that set `anchor` (lost timers fire in this order)
    int32_t kind              # PersonKind
    int32_t role
    int32_t sex
    int32_t zone              # current zone, -1 unknown
    int32_t last_zone         # last known zone (flow is checked from here)
    int32_t case_id
    int32_t lost_gen
    uint8_t lost_pending      # a T_LOST timer is in the heap
    uint8_t ever_lost

# Person-condition slots: vocab.PERSON_CONDITIONS order (codes.CONDITIONS). Anonymous enums are
# plain ints, which Cython lets index C arrays (CondState, _evaluate's holds) where a named one is refused.
cdef enum:
    COND_UNACCOMPANIED = 0
    COND_INSUFFICIENT_OFFICERS = 1
    COND_CO_SUSPECTS_TOGETHER = 2
    COND_RECORDING_GAP = 3
    COND_FEMALE_SEARCH = 4    # female_search_without_female_officer
    COND_VULNERABLE_IN_WAITING = 5
    COND_MIXED_SEX_WAITING = 6
    COND_MINOR_WITHOUT_GUARDIAN = 7
    COND_FEMALE_MINOR = 8     # female_minor_without_female_staff

cdef enum:                    # counts (anonymous: plain ints, so `for c in range(N_COND)` loops over ints)
    N_COND = 9                # codes.N_COND: person-condition slots
    N_TIMER_KINDS = 11        # len(codes.TIMER_CLASS)
    N_SEXES = 2               # len(vocab.SEXES): per-zone counts are kept at [N_SEXES * zone + sex]

# Person-condition state (codes.CONDITIONS: unaccompanied, insufficient_officers,
# co_suspects_together, recording_gap, female_search_..., and the second layer's
# vulnerable_in_waiting, mixed_sex_waiting, minor_without_guardian,
# female_minor_without_female_staff), one struct per interned person, beside PersonState.
cdef struct CondState:
    int64_t since[N_COND]     # when the condition started, -1 when it does not hold
    int64_t raised[N_COND]    # when its alert was raised, -1 when not raised
    int32_t gen[N_COND]       # timer generation: bumped when the condition ends
    int32_t zone[N_COND]      # zone of the raised alert (the clear repeats it)


cdef enum Role:               # vocab.ROLES order
    ROLE_OFFICER = 0
    ROLE_CUSTODIAN = 1
    ROLE_DOCTOR = 2
    ROLE_SUSPECT = 3
    ROLE_WITNESS = 4
    ROLE_VICTIM = 5
    ROLE_OTHER = 6
    ROLE_GUARDIAN = 7

cdef enum Sex:                # vocab.SEXES order
    SEX_M = 0
    SEX_F = 1

cdef enum ZoneType:           # vocab.ZONE_TYPES order
    ZT_ENTRY = 0
    ZT_REGISTRATION = 1
    ZT_SECURITY = 2           # security_check
    ZT_INFO_COLLECTION = 3
    ZT_WAITING = 4
    ZT_INTERROGATION = 5
    ZT_QUESTIONING = 6
    ZT_IDENTIFICATION = 7
    ZT_MEDICAL = 8
    ZT_REST = 9
    ZT_BELONGINGS = 10
    ZT_CORRIDOR = 11
    ZT_EXIT = 12
    ZT_PROPERTY_STORE = 13

cdef enum CameraState:        # vocab.CAMERA_STATES order
    CAM_RECORDING = 0
    CAM_STOPPED = 1
    CAM_OFFLINE = 2
    CAM_ONLINE = 3

cdef enum WelfareKind:        # vocab.WELFARE_KINDS order
    WELFARE_MEAL = 0
    WELFARE_REST = 1
    WELFARE_WATER = 2
    WELFARE_TOILET = 3
    WELFARE_MEDICAL_CHECK = 4

cdef enum Belongings:         # vocab.BELONGINGS order (a trail's belongings at check-out)
    BELONGINGS_RETURNED = 0
    BELONGINGS_KEPT = 1

cdef enum CheckinFlag:        # codes.FLAG_*: bits of a check-in record's t4
    FLAG_EXTENDED = 1
    FLAG_MINOR = 2
    FLAG_VULNERABLE = 4
    FLAG_PREGNANT = 8
    GUARDIAN_SHIFT = 16       # codes.GUARDIAN_SHIFT: the guardian's person id + 1 sits above the flags

cdef enum CheckoutFlag:       # codes.CO_*: bits of a check-out record's d
    CO_NIGHT_UNESCORTED = 1
    CO_BELONGINGS_KEPT = 2


# ---------------------------------------------------------------------------- the engine class
#
# Per-person state off the hot path (mirrors reference._Person's slow fields); snapshots list
# its fields in the order of SLOW_FIELDS in the .pyx.
cdef class _Slow:
    cdef public long long checkin_ts, arrived_ts, limit, warn_raised, exceeded_raised, gap_from
    cdef public int basis, flags, time_gen, visited
    cdef public list stays, alerts, gaps
    cdef public object stay
    # second layer
    cdef public bint minor, vulnerable, away, noflow
    cdef public int guardian, ward, meal_gen, transfer_gen, exit_gen, outcome, released_to, belongings
    cdef public int belongings_reason
    cdef public long long decided, meal_since, meal_raised, transfer_raised, exit_raised
    cdef public list exits, welfare, decisions


# The compiled core. Python callers see feed, feed_packed, tick, finish, export_state,
# import_state, push_timer, emit_alert and the public attributes (core_ext/_engine.pyi); a
# Cython module may also call the cdef methods below on a cimported CompiledEngine, with the
# engine's own invariants: a person id must have been interned (`_person`), timestamps must not
# go back, and outputs go to the list the current public call returns.
cdef class CompiledEngine:
    cdef public object site
    cdef public str name
    cdef PersonState* ps
    cdef CondState* cs                  # parallel to ps
    cdef int* zone_min_officers_c       # site constants as C arrays for the condition checks
    cdef char* zone_separate_c
    cdef char* zone_requires_recording_c
    cdef int* zone_type_c
    cdef int64_t cond_grace[N_COND]
    cdef Py_ssize_t ps_len, ps_cap
    cdef list slow                      # _Slow per person, parallel to ps
    cdef public object property         # core_ext.property.PropertyLedger (shared with the twin)
    cdef list zone_members, zone_subjects, zone_case_count
    cdef int* zone_officers
    cdef int* zone_female_staff
    cdef int* zone_rec_cams
    cdef int* zone_sex                  # subjects located per zone and sex: [N_SEXES * zone + sex]
    cdef char* camera_rec
    cdef int n_zones, n_cams
    cdef Timer* heap
    cdef Py_ssize_t heap_len, heap_cap
    cdef long long seq, now, lost_after, ord, meal_interval, transfer_limit
    cdef list out
    cdef public long long events_seen
    cdef public long long slow_events   # events that left the C hot path (state changed)
    # site constants used on slow paths
    cdef list zone_requires_recording, zone_min_officers, zone_separate, zone_type, grace_ms, camera_zones
    cdef object flow_allowed

    # storage
    cdef PersonState* _person(self, Py_ssize_t pid) except NULL
    cdef void _reset_person(self, Py_ssize_t pid)
    # timer heap
    cdef int _push(self, long long deadline, int kind, int ident, int gen, long long order=*) except -1
    cdef Timer _pop(self)
    cdef int _run_timers(self, long long limit, bint inclusive) except -1
    # outputs
    cdef int _alert(self, long long ts, int rule, int state, int subject, int zone,
                    long long n1=*, long long n2=*, tuple l1=*, tuple l2=*) except -1
    cdef int _person_alert(self, _Slow s, long long ts, int rule, int state, int pid, int zone,
                           long long n1=*, long long n2=*, tuple l1=*) except -1
    # events (slow path)
    cdef int _apply(self, const EventRec* r, const EventExtra* xs, const int32_t* ip) except -1
    cdef int _set_staff_role(self, int pid, int role, int sex, int ward) except -1
    # location
    cdef int _tag_seen_slow(self, long long ts, int pid, int zone) except -1
    cdef int _end_lost(self, int pid, long long ts) except -1
    cdef void _leave_counts(self, int pid, int zone)
    cdef int _enter_counts(self, int pid, int zone) except -1
    cdef int _move(self, int pid, int zone, long long ts) except -1
    cdef int _open_stay(self, _Slow s, int zone, long long ts) except -1
    cdef int _close_stay(self, _Slow s, long long ts) except -1
    # conditions
    cdef int _evaluate_zones(self, int mover, int old, int new) except -1
    cdef int _evaluate(self, int pid) except -1
    cdef bint _guardian_present(self, int pid, _Slow s, int zone) except -1
    cdef int _end_condition(self, int pid, int c, long long ts) except -1
    cdef int _raise_condition(self, int pid, _Slow s, int c, long long ts) except -1
    # timers
    cdef int _fire(self, long long ts, int kind, int ident, int gen) except -1
    # custody
    cdef int _checkin(self, const EventRec* r, const EventExtra* x) except -1
    cdef int _arm_time_limit(self, int pid, _Slow s) except -1
    cdef int _clear_time_alerts(self, int pid, _Slow s, long long ts) except -1
    cdef int _extend(self, long long ts, int pid, long long limit) except -1
    # second layer
    cdef int _custody(self, long long ts, int pid, int state) except -1
    cdef int _leave(self, long long ts, int pid, int reason, long long until) except -1
    cdef int _return(self, long long ts, int pid) except -1
    cdef int _decision(self, long long ts, int pid, int kind) except -1
    cdef int _welfare(self, long long ts, int pid, int kind) except -1
    cdef int _clear_second_layer(self, int pid, _Slow s, long long ts) except -1
    cdef int _checkout(self, const EventRec* r, const EventExtra* x) except -1
    cdef tuple _trail(self, int pid, long long now, bint checked_out)
    # cameras
    cdef int _camera(self, long long ts, int cam, int state) except -1
