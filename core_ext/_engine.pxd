# The compiled custody engine's contract. Codes mirror core_ext/vocab.py and
# core_ext/reference.py; the differential tests hold both engines to byte-identical output.
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

# Person-condition state (codes.CONDITIONS: unaccompanied, insufficient_officers,
# co_suspects_together, recording_gap, female_search_..., and the second layer's
# vulnerable_in_waiting, mixed_sex_waiting, minor_without_guardian,
# female_minor_without_female_staff), one struct per interned person, beside PersonState.
cdef struct CondState:
    int64_t since[9]          # when the condition started, -1 when it does not hold
    int64_t raised[9]         # when its alert was raised, -1 when not raised
    int32_t gen[9]            # timer generation: bumped when the condition ends
    int32_t zone[9]           # zone of the raised alert (the clear repeats it)
