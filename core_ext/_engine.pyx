# cython: language_level=3
"""The compiled custody engine: core_ext/reference.py's semantics with a C hot path.

Tag reads and camera repeats (nearly all events) run on C structs and a C timer heap without
touching a Python object; everything that changes state (moves, check-in/out, conditions,
lockers, trails) follows the reference engine statement by statement, so both produce the
same output tuples in the same order. Keep the two in step: the differential tests compare
them byte for byte.
"""
from libc.stdint cimport int32_t, int64_t, INT64_MAX
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

# Codes the core only passes through into output tuples come from core_ext.codes as Python ints;
# codes it computes with in C are the enums of _engine.pxd (checked against core_ext.codes and
# core_ext.vocab by tests/engine/test_core_contract.py).
from core_ext.codes import (
    CONDITIONS, OUT_ALERT, OUT_LOCATION, OUT_CUSTODY, OUT_TRAIL,
    CUSTODY_IN, CUSTODY_EXTENDED, CUSTODY_OUT, CUSTODY_DECISION, CUSTODY_LEAVE, CUSTODY_RETURN, RAISED, CLEARED,
    R_WARN, R_EXCEEDED, R_INSUFF, R_COSUS, R_LOST, R_FLOW, R_INCOMPLETE, R_MIXED, R_MEAL, R_TRANSFER,
    R_TEMP_EXIT, R_BELONGINGS, R_NIGHT, TIMER_CLASS,
)
from core_ext.property import PropertyLedger

# C memory per interned person (for the benchmark's memory figure)
PERSON_C_BYTES = sizeof(PersonState) + sizeof(CondState)
if len(CONDITIONS) != N_COND or len(TIMER_CLASS) != N_TIMER_KINDS:
    raise ImportError(f"the compiled core is built for {N_COND} person conditions and {N_TIMER_KINDS} timer "
                      f"kinds, core_ext.codes has {len(CONDITIONS)} and {len(TIMER_CLASS)}: rebuild it")
cdef int32_t C_TIMER_CLASS[N_TIMER_KINDS]
for _k in range(N_TIMER_KINDS):
    C_TIMER_CLASS[_k] = TIMER_CLASS[_k]


def pack_records(list records):
    """Decoded record tuples → (EventRec bytes, EventExtra bytes, sensed-items int32 bytes)."""
    cdef Py_ssize_t n = len(records), i, nx = 0
    for rec in records:
        if rec[1] != E_TAG and rec[1] != E_CAMERA:
            nx += 1
    buf = bytes(n * sizeof(EventRec))
    xbuf = bytes(nx * sizeof(EventExtra))
    cdef EventRec* out = <EventRec*> PyBytes_AS_STRING(buf)
    cdef EventExtra* xs = <EventExtra*> PyBytes_AS_STRING(xbuf)
    cdef EventRec* r
    cdef EventExtra* x
    items_flat = []
    nx = 0
    for i in range(n):
        rec = records[i]
        r = &out[i]
        r.ts = rec[0]
        r.etype = rec[1]
        r.a = rec[2]
        r.b = rec[3]
        r.c = rec[4]
        r.d = rec[5]
        if r.etype == E_TAG or r.etype == E_CAMERA:
            r.x = -1
            continue
        r.x = nx
        x = &xs[nx]
        nx += 1
        x.e = rec[6]
        x.t2 = rec[7]
        x.t3 = rec[8]
        x.t4 = rec[9]
        x.pad = 0
        items = rec[10]
        if items is None:
            x.items_off = 0
            x.items_len = -1
        else:
            x.items_off = len(items_flat)
            x.items_len = len(items)
            items_flat.extend(items)
    ibuf = bytes(len(items_flat) * sizeof(int32_t))
    cdef int32_t* ip = <int32_t*> PyBytes_AS_STRING(ibuf)
    for i in range(len(items_flat)):
        ip[i] = items_flat[i]
    return buf, xbuf, ibuf


cdef class _Slow:
    """Per-person state off the hot path (mirrors reference._Person's slow fields; declared in
    _engine.pxd)."""

    def __init__(self):
        self.checkin_ts = -1
        self.arrived_ts = -1
        self.basis = -1
        self.limit = 0
        self.flags = 0
        self.time_gen = 0
        self.warn_raised = -1
        self.exceeded_raised = -1
        self.visited = 0
        self.stays = []
        self.stay = None
        self.alerts = []
        self.gaps = []
        self.gap_from = -1
        self.minor = False
        self.vulnerable = False
        self.away = False
        self.noflow = False
        self.guardian = -1
        self.ward = -1
        self.meal_gen = 0
        self.transfer_gen = 0
        self.exit_gen = 0
        self.outcome = -1
        self.released_to = -1
        self.belongings = BELONGINGS_RETURNED
        self.belongings_reason = -1
        self.decided = -1
        self.meal_since = -1
        self.meal_raised = -1
        self.transfer_raised = -1
        self.exit_raised = -1
        self.exits = []
        self.welfare = []
        self.decisions = []


# _Slow's fields, in the order snapshots list them (core_ext/snapshot.py)
SLOW_FIELDS = (
    "checkin_ts", "arrived_ts", "limit", "warn_raised", "exceeded_raised", "gap_from", "basis", "flags",
    "time_gen", "visited", "stays", "alerts", "gaps", "stay", "minor", "vulnerable", "away", "noflow",
    "guardian", "ward", "meal_gen", "transfer_gen", "exit_gen", "outcome", "released_to", "belongings",
    "belongings_reason", "decided", "meal_since", "meal_raised", "transfer_raised", "exit_raised", "exits",
    "welfare", "decisions",
)


cdef class CompiledEngine:
    """The compiled core (attributes and cdef methods declared in _engine.pxd)."""

    def __cinit__(self):
        self.ps = NULL
        self.cs = NULL
        self.zone_min_officers_c = NULL
        self.zone_separate_c = NULL
        self.zone_requires_recording_c = NULL
        self.zone_type_c = NULL
        self.heap = NULL
        self.zone_officers = NULL
        self.zone_female_staff = NULL
        self.zone_rec_cams = NULL
        self.zone_sex = NULL
        self.camera_rec = NULL

    def __init__(self, site):
        self.site = site
        self.name = "compiled"
        self.ps_len = 0
        self.ps_cap = 0
        self.slow = []
        self.n_zones = len(site.zone_ids)
        self.n_cams = len(site.camera_ids)
        nz = self.n_zones
        self.zone_members = [set() for _ in range(nz)]
        self.zone_subjects = [set() for _ in range(nz)]
        self.zone_case_count = [{} for _ in range(nz)]
        self.zone_officers = <int*> malloc(max(nz, 1) * sizeof(int))
        self.zone_female_staff = <int*> malloc(max(nz, 1) * sizeof(int))
        self.zone_rec_cams = <int*> malloc(max(nz, 1) * sizeof(int))
        self.camera_rec = <char*> malloc(max(self.n_cams, 1))
        self.zone_sex = <int*> malloc(max(nz, 1) * N_SEXES * sizeof(int))
        if not (self.zone_officers and self.zone_female_staff and self.zone_rec_cams and self.camera_rec
                and self.zone_sex):
            raise MemoryError()
        memset(self.zone_sex, 0, max(nz, 1) * N_SEXES * sizeof(int))
        memset(self.zone_officers, 0, max(nz, 1) * sizeof(int))
        memset(self.zone_female_staff, 0, max(nz, 1) * sizeof(int))
        memset(self.zone_rec_cams, 0, max(nz, 1) * sizeof(int))
        memset(self.camera_rec, 0, max(self.n_cams, 1))
        self.heap_len = 0
        self.heap_cap = 0
        self.seq = 0
        self.now = 0
        self.lost_after = site.lost_after_ms
        self.ord = 0
        self.meal_interval = site.meal_interval_ms
        self.transfer_limit = site.transfer_limit_ms
        self.out = []
        self.events_seen = 0
        self.slow_events = 0
        self.zone_requires_recording = list(site.zone_requires_recording)
        self.zone_min_officers = list(site.zone_min_officers)
        self.zone_separate = list(site.zone_separate)
        self.zone_type = list(site.zone_type)
        self.grace_ms = list(site.grace_ms)
        self.camera_zones = [list(z) for z in site.camera_zones]
        self.flow_allowed = site.flow_allowed
        self.zone_min_officers_c = <int*> malloc(max(nz, 1) * sizeof(int))
        self.zone_separate_c = <char*> malloc(max(nz, 1))
        self.zone_requires_recording_c = <char*> malloc(max(nz, 1))
        self.zone_type_c = <int*> malloc(max(nz, 1) * sizeof(int))
        if not (self.zone_min_officers_c and self.zone_separate_c and self.zone_requires_recording_c
                and self.zone_type_c):
            raise MemoryError()
        for z in range(nz):
            self.zone_min_officers_c[z] = site.zone_min_officers[z]
            self.zone_separate_c[z] = 1 if site.zone_separate[z] else 0
            self.zone_requires_recording_c[z] = 1 if site.zone_requires_recording[z] else 0
            self.zone_type_c[z] = site.zone_type[z]
        for c in range(N_COND):
            self.cond_grace[c] = site.grace_ms[CONDITIONS[c]]
        self.property = PropertyLedger(site, self.push_timer, self.emit_alert)

    def __dealloc__(self):
        free(self.ps)
        free(self.cs)
        free(self.zone_min_officers_c)
        free(self.zone_separate_c)
        free(self.zone_requires_recording_c)
        free(self.zone_type_c)
        free(self.heap)
        free(self.zone_officers)
        free(self.zone_female_staff)
        free(self.zone_rec_cams)
        free(self.zone_sex)
        free(self.camera_rec)

    # ------------------------------------------------------------------ public API

    def feed(self, list records):
        buf, xbuf, ibuf = pack_records(records)
        return self.feed_packed(buf, xbuf, ibuf)

    def feed_packed(self, const unsigned char[:] buf, const unsigned char[:] extras=None,
                    const unsigned char[:] items=None):
        """Feeds a batch packed by `pack_records`; returns the output tuples."""
        cdef Py_ssize_t n = buf.shape[0] // sizeof(EventRec), i
        if n == 0:
            return []
        cdef const EventRec* recs = <const EventRec*> &buf[0]
        cdef const EventExtra* xs = NULL
        cdef const int32_t* ip = NULL
        if extras is not None and extras.shape[0] > 0:
            xs = <const EventExtra*> &extras[0]
        if items is not None and items.shape[0] > 0:
            ip = <const int32_t*> &items[0]
        self.out = []
        cdef const EventRec* r
        cdef PersonState* p
        cdef int64_t ts
        # The next deadline, kept in a local: re-read only after something may have changed the
        # heap (a slow-path call or firing timers).
        cdef int64_t next_due = self.heap[0].deadline if self.heap_len else INT64_MAX
        cdef PersonState* persons = self.ps
        cdef int64_t base = self.events_seen
        for i in range(n):
            r = &recs[i]
            ts = r.ts
            if next_due < ts:
                self._run_timers(ts, 0)
                next_due = self.heap[0].deadline if self.heap_len else INT64_MAX
                persons = self.ps
            self.now = ts
            if r.etype == E_TAG:
                p = &persons[r.a]
                p.last_read = ts
                p.anchor = ts
                p.anchor_ord = base + i
                if p.lost < 0 and p.lost_pending and p.zone == r.b:
                    continue
                self.slow_events += 1
                self.ord = base + i
                self._tag_seen_slow(ts, r.a, r.b)
            elif r.etype == E_CAMERA and (r.b == CAM_ONLINE or (self.camera_rec[r.a] != 0) == (r.b == CAM_RECORDING)):
                continue  # 'online', or a repeat of the current recording state: nothing changes
            else:
                self.slow_events += 1
                self.ord = base + i
                self._apply(r, xs, ip)
            next_due = self.heap[0].deadline if self.heap_len else INT64_MAX
            persons = self.ps  # a check-in may have grown (moved) the person array
        self.events_seen += n
        out = self.out
        self.out = []
        return out

    def tick(self, long long now):
        self.out = []
        self._run_timers(now, 1)
        if now > self.now:
            self.now = now
        out = self.out
        self.out = []
        return out

    def finish(self, long long until):
        out = self.tick(until)
        cdef long long now = max(until, self.now)
        cdef Py_ssize_t pid
        for pid in range(self.ps_len):
            if self.ps[pid].kind == KIND_IN:
                out.append(self._trail(pid, now, False))
        out += self.property.item_trails(now)
        return out

    def export_state(self):
        """The engine's state as plain data (core_ext/snapshot.py turns it into JSON): every C
        struct as a list of its fields in declaration order, never raw memory."""
        cdef Py_ssize_t i
        cdef PersonState* p
        cdef CondState* k
        cdef Timer* t
        persons, conds, heap = [], [], []
        for i in range(self.ps_len):
            p = &self.ps[i]
            persons.append([p.anchor, p.last_read, p.lost, p.anchor_ord, p.kind, p.role, p.sex, p.zone,
                            p.last_zone, p.case_id, p.lost_gen, p.lost_pending, p.ever_lost])
            k = &self.cs[i]
            conds.append([[k.since[c] for c in range(N_COND)], [k.raised[c] for c in range(N_COND)],
                          [k.gen[c] for c in range(N_COND)], [k.zone[c] for c in range(N_COND)]])
        for i in range(self.heap_len):
            t = &self.heap[i]
            heap.append((t.deadline, t.seq, t.kind, t.ident, t.gen, t.cls))
        return {
            "persons": persons, "conditions": conds, "heap": heap,
            "zone_officers": [self.zone_officers[z] for z in range(self.n_zones)],
            "zone_female_staff": [self.zone_female_staff[z] for z in range(self.n_zones)],
            "zone_rec_cams": [self.zone_rec_cams[z] for z in range(self.n_zones)],
            "zone_sex": [self.zone_sex[z] for z in range(N_SEXES * self.n_zones)],
            "camera_rec": [self.camera_rec[c] for c in range(self.n_cams)],
            "slow": [{f: getattr(s, f) for f in SLOW_FIELDS} for s in self.slow],
            "zone_members": self.zone_members, "zone_subjects": self.zone_subjects,
            "zone_case_count": self.zone_case_count, "property": self.property.export_state(),
            "seq": self.seq, "now": self.now, "events_seen": self.events_seen, "slow_events": self.slow_events,
        }

    def import_state(self, dict state):
        """Restores `export_state()` data; ValueError when it has another layout."""
        cdef Py_ssize_t n = len(state["persons"]), i, z, c
        cdef PersonState* p
        cdef CondState* k
        cdef Timer* grown
        cdef Timer* t
        if len(state["conditions"]) != n or len(state["slow"]) != n:
            raise ValueError("persons, conditions and slow state differ in length")
        if (len(state["zone_officers"]) != self.n_zones or len(state["zone_sex"]) != N_SEXES * self.n_zones
                or len(state["camera_rec"]) != self.n_cams):
            raise ValueError("zone or camera arrays of another site")
        slow = []
        for fields in state["slow"]:
            if set(fields) != set(SLOW_FIELDS):
                raise ValueError(f"per-person state of another layout: {sorted(fields)}")
            s = _Slow()
            for f in SLOW_FIELDS:
                setattr(s, f, fields[f])
            slow.append(s)
        if n:
            self._person(n - 1)  # grows the C arrays (and `slow`, replaced below)
        for i in range(n):
            row = state["persons"][i]
            if len(row) != 13:
                raise ValueError("person record of another layout")
            p = &self.ps[i]
            (p.anchor, p.last_read, p.lost, p.anchor_ord, p.kind, p.role, p.sex, p.zone, p.last_zone,
             p.case_id, p.lost_gen, p.lost_pending, p.ever_lost) = row
            since, raised, gens, zones = state["conditions"][i]
            if not len(since) == len(raised) == len(gens) == len(zones) == N_COND:
                raise ValueError("condition record of another layout")
            k = &self.cs[i]
            for c in range(N_COND):
                k.since[c] = since[c]
                k.raised[c] = raised[c]
                k.gen[c] = gens[c]
                k.zone[c] = zones[c]
        self.ps_len = n
        self.slow = slow
        heap = state["heap"]
        cdef Py_ssize_t nh = len(heap)
        if nh > self.heap_cap:
            grown = <Timer*> realloc(self.heap, nh * sizeof(Timer))
            if grown == NULL:
                raise MemoryError()
            self.heap = grown
            self.heap_cap = nh
        for i in range(nh):
            if len(heap[i]) != 6:
                raise ValueError("timer record of another layout")
            t = &self.heap[i]
            t.deadline, t.seq, t.kind, t.ident, t.gen, t.cls = heap[i]
        self.heap_len = nh
        for z in range(self.n_zones):
            self.zone_officers[z] = state["zone_officers"][z]
            self.zone_female_staff[z] = state["zone_female_staff"][z]
            self.zone_rec_cams[z] = state["zone_rec_cams"][z]
        for z in range(N_SEXES * self.n_zones):
            self.zone_sex[z] = state["zone_sex"][z]
        for z in range(self.n_cams):
            self.camera_rec[z] = state["camera_rec"][z]
        self.zone_members = state["zone_members"]
        self.zone_subjects = state["zone_subjects"]
        self.zone_case_count = state["zone_case_count"]
        self.property.import_state(state["property"])
        self.seq = state["seq"]
        self.now = state["now"]
        self.events_seen = state["events_seen"]
        self.slow_events = state["slow_events"]

    def push_timer(self, long long deadline, int kind, int ident, int gen):
        """The timer heap, for the shared property ledger."""
        self._push(deadline, kind, ident, gen)

    def emit_alert(self, long long ts, int rule, int state, int subject, int zone,
                   long long n1=-1, long long n2=-1, tuple l1=(), tuple l2=()):
        """The output list, for the shared property ledger."""
        self.out.append((OUT_ALERT, ts, rule, state, subject, zone, n1, n2, l1, l2))

    # ------------------------------------------------------------------ storage

    cdef PersonState* _person(self, Py_ssize_t pid) except NULL:
        cdef Py_ssize_t cap
        cdef PersonState* grown
        cdef CondState* grown_cs
        cdef int c
        if pid >= self.ps_cap:
            cap = max(64, self.ps_cap * 2, pid + 1)
            grown = <PersonState*> realloc(self.ps, cap * sizeof(PersonState))
            if grown == NULL:
                raise MemoryError()
            self.ps = grown
            grown_cs = <CondState*> realloc(self.cs, cap * sizeof(CondState))
            if grown_cs == NULL:
                raise MemoryError()
            self.cs = grown_cs
            self.ps_cap = cap
        while self.ps_len <= pid:
            self._reset_person(self.ps_len)
            for c in range(N_COND):
                self.cs[self.ps_len].gen[c] = 0
                self.cs[self.ps_len].since[c] = -1
                self.cs[self.ps_len].raised[c] = -1
                self.cs[self.ps_len].zone[c] = -1
            self.slow.append(_Slow())
            self.ps_len += 1
        return &self.ps[pid]

    cdef void _reset_person(self, Py_ssize_t pid):
        cdef PersonState* p = &self.ps[pid]
        p.anchor = 0
        p.last_read = -1
        p.lost = -1
        p.anchor_ord = 0
        p.kind = KIND_NONE
        p.role = ROLE_OFFICER         # meaningless while kind is KIND_NONE (the twin's default too)
        p.sex = SEX_M
        p.zone = -1
        p.last_zone = -1
        p.case_id = -1
        p.lost_gen = 0
        p.lost_pending = 0
        p.ever_lost = 0

    # ------------------------------------------------------------------ timer heap

    cdef int _push(self, long long deadline, int kind, int ident, int gen, long long order=-1) except -1:
        """Arms a timer; `order` is the arm order of a lost-tag timer (the anchor's event ordinal),
        every other timer is ordered by when it is pushed."""
        cdef Py_ssize_t i, parent, cap
        cdef Timer* grown
        cdef Timer t
        if deadline < self.now:
            deadline = self.now
        self.seq += 1
        if self.heap_len == self.heap_cap:
            cap = max(256, self.heap_cap * 2)
            grown = <Timer*> realloc(self.heap, cap * sizeof(Timer))
            if grown == NULL:
                raise MemoryError()
            self.heap = grown
            self.heap_cap = cap
        t.deadline = deadline
        t.seq = self.seq if order < 0 else order
        t.cls = C_TIMER_CLASS[kind]
        t.kind = kind
        t.ident = ident
        t.gen = gen
        i = self.heap_len
        self.heap_len += 1
        while i > 0:
            parent = (i - 1) >> 1
            if _before(&self.heap[parent], &t):
                break
            self.heap[i] = self.heap[parent]
            i = parent
        self.heap[i] = t
        return 0

    cdef Timer _pop(self):
        cdef Timer top = self.heap[0]
        cdef Timer last
        cdef Py_ssize_t i = 0, child, n
        self.heap_len -= 1
        n = self.heap_len
        if n > 0:
            last = self.heap[n]
            while True:
                child = 2 * i + 1
                if child >= n:
                    break
                if child + 1 < n and _before(&self.heap[child + 1], &self.heap[child]):
                    child += 1
                if _before(&last, &self.heap[child]):
                    break
                self.heap[i] = self.heap[child]
                i = child
            self.heap[i] = last
        return top

    cdef int _run_timers(self, long long limit, bint inclusive) except -1:
        cdef Timer t
        cdef PersonState* p
        cdef long long real
        while self.heap_len and (self.heap[0].deadline < limit or (inclusive and self.heap[0].deadline == limit)):
            t = self._pop()
            self.now = t.deadline
            if t.kind == T_LOST:
                p = &self.ps[t.ident]
                if t.gen != p.lost_gen:
                    continue
                real = p.anchor + self.lost_after
                if real > t.deadline or p.anchor_ord > t.seq:  # read since: on to the anchor's deadline
                    self._push(real, T_LOST, t.ident, t.gen, p.anchor_ord)
                    continue
            self._fire(t.deadline, t.kind, t.ident, t.gen)
        return 0

    # ------------------------------------------------------------------ outputs

    cdef int _alert(self, long long ts, int rule, int state, int subject, int zone,
                    long long n1=-1, long long n2=-1, tuple l1=(), tuple l2=()) except -1:
        self.out.append((OUT_ALERT, ts, rule, state, subject, zone, n1, n2, l1, l2))
        return 0

    cdef int _person_alert(self, _Slow s, long long ts, int rule, int state, int pid, int zone,
                           long long n1=-1, long long n2=-1, tuple l1=()) except -1:
        self.out.append((OUT_ALERT, ts, rule, state, pid, zone, n1, n2, l1, ()))
        s.alerts.append((ts, rule, state))
        return 0

    # ------------------------------------------------------------------ events (slow path)

    cdef int _apply(self, const EventRec* r, const EventExtra* xs, const int32_t* ip) except -1:
        cdef int etype = r.etype
        cdef PersonState* p
        cdef Py_ssize_t k
        cdef EventExtra x
        if r.x >= 0:
            x = xs[r.x]
        else:
            memset(&x, 0, sizeof(EventExtra))
            x.items_len = -1
        if etype == E_CAMERA:
            self._camera(r.ts, r.a, r.b)
        elif etype == E_CHECKIN:
            self._checkin(r, &x)
        elif etype == E_CHECKOUT:
            self._checkout(r, &x)
        elif etype == E_ENROLL:
            self._person(r.a)
            self._set_staff_role(r.a, r.b, r.c, r.d)
        elif etype == E_EXTEND:
            self._extend(r.ts, r.a, x.t3)
        elif etype == E_DOOR:
            self.property.door(r.ts, r.a, r.b)
        elif etype == E_BADGE:
            self.property.badge(r.ts, r.a, r.b)
        elif etype == E_INTAKE:
            self.property.intake(r.ts, r.a, r.b, r.c, r.d, x.e, x.t2)
        elif etype == E_WORKORDER:
            approval = tuple([ip[x.items_off + k] for k in range(x.items_len)]) if x.items_len >= 0 else None
            self.property.workorder(r.ts, r.a, r.b, r.c, r.d, x.e, x.t2, x.t3, x.t4, approval)
        elif etype == E_LOCKER:
            if x.items_len < 0:
                items = None
            else:
                items = tuple([ip[x.items_off + k] for k in range(x.items_len)])
            self.property.locker(r.ts, r.a, r.b, items)
        elif etype == E_LEAVE:
            self._leave(r.ts, r.a, r.b, x.t2)
        elif etype == E_RETURN:
            self._return(r.ts, r.a)
        elif etype == E_DECISION:
            self._decision(r.ts, r.a, r.b)
        elif etype == E_WELFARE:
            self._welfare(r.ts, r.a, r.b)
        elif etype == E_SEIZURE:
            self.property.seizure(r.ts, r.a, r.b, r.d, x.t2)
        elif etype == E_UNLOCK:
            self.property.unlock(r.ts, r.a, r.d)
        return 0

    cdef int _set_staff_role(self, int pid, int role, int sex, int ward) except -1:
        # (Re-)enrolment keeps the location and may change kind, role, sex or ward while the
        # person stands in a zone.
        cdef PersonState* p = &self.ps[pid]
        cdef int zone = p.zone
        if zone >= 0:
            self._leave_counts(pid, zone)
        p.kind = KIND_GUARDIAN if role == ROLE_GUARDIAN else KIND_STAFF
        p.role = role
        p.sex = sex
        (<_Slow> self.slow[pid]).ward = ward
        if zone >= 0:
            self._enter_counts(pid, zone)
            self._evaluate_zones(-1, zone, -1)
        return 0

    # ------------------------------------------------------------------ location

    cdef int _tag_seen_slow(self, long long ts, int pid, int zone) except -1:
        cdef PersonState* p = &self.ps[pid]
        if p.lost >= 0:
            self._end_lost(pid, ts)
        if not p.lost_pending:
            p.lost_pending = 1
            self._push(ts + self.lost_after, T_LOST, pid, p.lost_gen, p.anchor_ord)
        if p.zone != zone:
            self._move(pid, zone, ts)
        return 0

    cdef int _end_lost(self, int pid, long long ts) except -1:
        """The tag is read again, or the subject checked out: clear tag_lost and close the gap."""
        cdef PersonState* p = &self.ps[pid]
        cdef _Slow s = self.slow[pid]
        self._person_alert(s, ts, R_LOST, CLEARED, pid, p.last_zone, p.lost)
        p.lost = -1
        if s.gap_from >= 0:
            s.gaps.append((s.gap_from, ts))
            s.gap_from = -1
        return 0

    cdef void _leave_counts(self, int pid, int zone):
        cdef PersonState* p = &self.ps[pid]
        if p.kind == KIND_STAFF:
            if p.role == ROLE_OFFICER:
                self.zone_officers[zone] -= 1
            if p.sex == SEX_F:
                self.zone_female_staff[zone] -= 1

    cdef int _enter_counts(self, int pid, int zone) except -1:
        cdef PersonState* p = &self.ps[pid]
        if p.kind == KIND_STAFF:
            if p.role == ROLE_OFFICER:
                self.zone_officers[zone] += 1
                for sid in self.zone_subjects[zone]:
                    stay = (<_Slow> self.slow[sid]).stay
                    if stay is not None:
                        stay[3].add(pid)
            if p.sex == SEX_F:
                self.zone_female_staff[zone] += 1
        return 0

    cdef int _move(self, int pid, int zone, long long ts) except -1:
        cdef PersonState* p = &self.ps[pid]
        cdef int old = p.zone
        cdef bint subject = p.kind == KIND_IN
        cdef _Slow s = self.slow[pid]
        if old >= 0:
            (<set> self.zone_members[old]).discard(pid)
            if subject:
                (<set> self.zone_subjects[old]).discard(pid)
                counts = self.zone_case_count[old]
                counts[p.case_id] -= 1
                self.zone_sex[N_SEXES * old + p.sex] -= 1
                self._close_stay(s, ts)
            else:
                self._leave_counts(pid, old)
        p.zone = zone
        self.out.append((OUT_LOCATION, ts, pid, zone, old))
        if zone >= 0:
            (<set> self.zone_members[zone]).add(pid)
            if subject:
                if (self.flow_allowed is not None and p.last_zone >= 0 and p.last_zone != zone and not s.noflow
                        and (p.last_zone, zone) not in self.flow_allowed):
                    self._person_alert(s, ts, R_FLOW, RAISED, pid, zone, p.last_zone, zone)
                p.last_zone = zone
                s.noflow = False
                (<set> self.zone_subjects[zone]).add(pid)
                counts = self.zone_case_count[zone]
                counts[p.case_id] = counts.get(p.case_id, 0) + 1
                self.zone_sex[N_SEXES * zone + p.sex] += 1
                self._open_stay(s, zone, ts)
            else:
                self._enter_counts(pid, zone)
        self._evaluate_zones(pid if subject else -1, old, zone)
        return 0

    cdef int _open_stay(self, _Slow s, int zone, long long ts) except -1:
        officers = {m for m in self.zone_members[zone]
                    if self.ps[<int> m].kind == KIND_STAFF and self.ps[<int> m].role == ROLE_OFFICER}
        cdef long long unrec_since = ts if self.zone_requires_recording[zone] and self.zone_rec_cams[zone] == 0 else -1
        s.stay = [zone, ts, -1, officers, 0, unrec_since]
        s.visited |= 1 << <int> self.zone_type[zone]
        return 0

    cdef int _close_stay(self, _Slow s, long long ts) except -1:
        stay = s.stay
        if stay is None:
            return 0
        if stay[5] >= 0:
            stay[4] += ts - stay[5]
            stay[5] = -1
        stay[2] = ts
        s.stays.append(stay)
        s.stay = None
        return 0

    # ------------------------------------------------------------------ conditions

    cdef int _evaluate_zones(self, int mover, int old, int new) except -1:
        """Re-evaluates the mover first, then every subject of the zone it left and the zone it
        entered. A subject stands in one zone at a time and old != new, so nobody twice."""
        cdef int zone, sid
        if mover >= 0:
            self._evaluate(mover)
        for zone in (old, new):
            if zone >= 0:
                for sid in sorted(self.zone_subjects[zone]):
                    if sid != mover:
                        self._evaluate(sid)
        return 0

    cdef int _evaluate(self, int pid) except -1:
        cdef PersonState* p = &self.ps[pid]
        cdef CondState* k = &self.cs[pid]
        cdef int zone = p.zone
        cdef int officers, c, min_off, zt
        cdef bint h[N_COND]
        cdef bint waiting, questioned
        cdef long long now = self.now
        cdef _Slow s
        if p.kind != KIND_IN or zone < 0:
            for c in range(N_COND):
                h[c] = False
        else:
            s = self.slow[pid]
            officers = self.zone_officers[zone]
            min_off = self.zone_min_officers_c[zone]
            zt = self.zone_type_c[zone]
            waiting = zt == ZT_WAITING
            questioned = s.minor and (zt == ZT_INTERROGATION or zt == ZT_QUESTIONING)
            h[COND_UNACCOMPANIED] = officers == 0
            h[COND_INSUFFICIENT_OFFICERS] = min_off > 1 and 0 < officers < min_off
            h[COND_CO_SUSPECTS_TOGETHER] = (self.zone_separate_c[zone] != 0
                                            and (<dict> self.zone_case_count[zone]).get(p.case_id, 0) > 1)
            h[COND_RECORDING_GAP] = self.zone_requires_recording_c[zone] != 0 and self.zone_rec_cams[zone] == 0
            h[COND_FEMALE_SEARCH] = p.sex == SEX_F and zt == ZT_SECURITY and self.zone_female_staff[zone] == 0
            h[COND_VULNERABLE_IN_WAITING] = s.vulnerable and waiting
            # subjects of the other sex (SEX_M + SEX_F - sex) waiting in the same zone
            h[COND_MIXED_SEX_WAITING] = waiting and self.zone_sex[N_SEXES * zone + SEX_M + SEX_F - p.sex] > 0
            h[COND_MINOR_WITHOUT_GUARDIAN] = questioned and not self._guardian_present(pid, s, zone)
            h[COND_FEMALE_MINOR] = questioned and p.sex == SEX_F and self.zone_female_staff[zone] == 0
        for c in range(N_COND):
            if h[c]:
                if k.since[c] < 0:
                    k.since[c] = now
                    self._push(now + self.cond_grace[c], T_COND, pid * N_COND + c, k.gen[c])
            elif k.since[c] >= 0:
                self._end_condition(pid, c, now)
        return 0

    cdef bint _guardian_present(self, int pid, _Slow s, int zone) except -1:
        """A guardian of the subject (enrolled `for` them, or named at their check-in) is located there."""
        cdef int m
        for m in self.zone_members[zone]:
            if m == s.guardian or (self.ps[m].kind == KIND_GUARDIAN and (<_Slow> self.slow[m]).ward == pid):
                return True
        return False

    cdef int _end_condition(self, int pid, int c, long long ts) except -1:
        cdef CondState* k = &self.cs[pid]
        if k.raised[c] >= 0:
            self._person_alert(self.slow[pid], ts, CONDITIONS[c], CLEARED, pid, k.zone[c], k.raised[c])
            k.raised[c] = -1
        k.since[c] = -1
        k.gen[c] += 1
        return 0

    cdef int _raise_condition(self, int pid, _Slow s, int c, long long ts) except -1:
        cdef PersonState* p = &self.ps[pid]
        cdef int zone = p.zone
        rule = CONDITIONS[c]
        cdef long long n1 = -1, n2 = -1
        others = ()
        if rule == R_INSUFF:
            n1 = self.zone_officers[zone]
            n2 = self.zone_min_officers[zone]
        elif rule == R_COSUS:
            n1 = p.case_id
            others = tuple(sorted(x for x in self.zone_subjects[zone]
                                  if x != pid and self.ps[<int> x].case_id == p.case_id))
        elif rule == R_MIXED:
            others = tuple(sorted(x for x in self.zone_subjects[zone] if self.ps[<int> x].sex != p.sex))
        self.cs[pid].raised[c] = ts
        self.cs[pid].zone[c] = zone
        self._person_alert(s, ts, rule, RAISED, pid, zone, n1, n2, others)
        return 0

    # ------------------------------------------------------------------ timers

    cdef int _fire(self, long long ts, int kind, int ident, int gen) except -1:
        cdef PersonState* p
        cdef _Slow s
        cdef int pid, c
        if kind == T_LOST:
            # generation and re-arm already checked in _run_timers
            p = &self.ps[ident]
            p.lost_pending = 0
            if p.kind == KIND_IN and p.lost < 0:
                s = self.slow[ident]
                p.lost = ts
                p.ever_lost = 1
                s.gap_from = ts
                self._person_alert(s, ts, R_LOST, RAISED, ident, p.last_zone, p.last_read)
            if p.zone >= 0:
                self._move(ident, -1, ts)
        elif kind == T_COND:
            pid = ident // N_COND
            c = ident % N_COND
            s = self.slow[pid]
            if gen == self.cs[pid].gen[c] and self.cs[pid].since[c] >= 0 and self.cs[pid].raised[c] < 0:
                self._raise_condition(pid, s, c, ts)
        elif kind == T_WARN:
            p = &self.ps[ident]
            s = self.slow[ident]
            if gen == s.time_gen and p.kind == KIND_IN:
                s.warn_raised = ts
                self._person_alert(s, ts, R_WARN, RAISED, ident, p.zone, s.arrived_ts + s.limit, s.limit)
        elif kind == T_EXCEED:
            p = &self.ps[ident]
            s = self.slow[ident]
            if gen == s.time_gen and p.kind == KIND_IN:
                if s.warn_raised >= 0:
                    self._person_alert(s, ts, R_WARN, CLEARED, ident, p.zone, s.warn_raised)
                    s.warn_raised = -1
                s.exceeded_raised = ts
                self._person_alert(s, ts, R_EXCEEDED, RAISED, ident, p.zone, s.arrived_ts + s.limit, s.limit)
        elif kind == T_MEAL:
            p = &self.ps[ident]
            s = self.slow[ident]
            if gen == s.meal_gen and p.kind == KIND_IN and s.meal_raised < 0:
                s.meal_raised = ts
                self._person_alert(s, ts, R_MEAL, RAISED, ident, p.zone, s.meal_since, s.meal_since + self.meal_interval)
        elif kind == T_TRANSFER:
            p = &self.ps[ident]
            s = self.slow[ident]
            if gen == s.transfer_gen and p.kind == KIND_IN and s.transfer_raised < 0:
                s.transfer_raised = ts
                self._person_alert(s, ts, R_TRANSFER, RAISED, ident, p.zone, s.decided, s.decisions[0][1])
        elif kind == T_TEMP_EXIT:
            p = &self.ps[ident]
            s = self.slow[ident]
            if gen == s.exit_gen and p.kind == KIND_IN and s.away and s.exit_raised < 0:
                s.exit_raised = ts
                exit_ = s.exits[len(s.exits) - 1]  # (wraparound is off)
                self._person_alert(s, ts, R_TEMP_EXIT, RAISED, ident, p.zone, exit_[3], exit_[2])
        else:
            self.property.fire(ts, kind, ident, gen)
        return 0

    # ------------------------------------------------------------------ custody

    cdef int _checkin(self, const EventRec* r, const EventExtra* x) except -1:
        cdef int pid = r.a, c
        cdef PersonState* p = self._person(pid)
        cdef _Slow old = self.slow[pid]
        cdef _Slow s = _Slow()
        cdef int lost_gen = p.lost_gen + 1
        s.time_gen = old.time_gen + 1
        s.meal_gen = old.meal_gen + 1
        s.transfer_gen = old.transfer_gen + 1
        s.exit_gen = old.exit_gen + 1
        self.slow[pid] = s
        self._reset_person(pid)
        for c in range(N_COND):  # a new custody: conditions start over, stale timers stay stale
            self.cs[pid].gen[c] += 1
            self.cs[pid].since[c] = -1
            self.cs[pid].raised[c] = -1
            self.cs[pid].zone[c] = -1
        p.lost_gen = lost_gen
        p.kind = KIND_IN
        p.role = r.b
        p.sex = r.c
        s.basis = r.d
        p.case_id = x.e
        s.arrived_ts = x.t2
        s.limit = x.t3
        s.flags = <int> x.t4
        s.minor = (x.t4 & FLAG_MINOR) != 0
        s.vulnerable = (x.t4 & FLAG_VULNERABLE) != 0
        s.guardian = <int> ((x.t4 >> GUARDIAN_SHIFT) - 1)
        s.checkin_ts = r.ts
        p.anchor = r.ts
        p.anchor_ord = self.ord
        p.lost_pending = 1
        self._push(r.ts + self.lost_after, T_LOST, pid, p.lost_gen, p.anchor_ord)
        self.out.append((OUT_CUSTODY, r.ts, pid, CUSTODY_IN, r.b, r.c, x.e, r.d, x.t2, x.t3, s.flags))
        self._arm_time_limit(pid, s)
        if self.meal_interval > 0:
            s.meal_since = r.ts
            self._push(r.ts + self.meal_interval, T_MEAL, pid, s.meal_gen)
        return 0

    cdef int _arm_time_limit(self, int pid, _Slow s) except -1:
        cdef long long deadline = s.arrived_ts + s.limit
        self._push(deadline - self.site.warn_before_ms, T_WARN, pid, s.time_gen)
        self._push(deadline, T_EXCEED, pid, s.time_gen)
        return 0

    cdef int _clear_time_alerts(self, int pid, _Slow s, long long ts) except -1:
        cdef int zone = self.ps[pid].zone
        if s.warn_raised >= 0:
            self._person_alert(s, ts, R_WARN, CLEARED, pid, zone, s.warn_raised)
            s.warn_raised = -1
        if s.exceeded_raised >= 0:
            self._person_alert(s, ts, R_EXCEEDED, CLEARED, pid, zone, s.exceeded_raised)
            s.exceeded_raised = -1
        s.time_gen += 1
        return 0

    cdef int _extend(self, long long ts, int pid, long long limit) except -1:
        cdef PersonState* p = &self.ps[pid]
        cdef _Slow s = self.slow[pid]
        if limit == s.limit or s.decided >= 0:  # the tier in force, or the clock stopped by a decision
            return 0
        s.limit = limit
        self.out.append((OUT_CUSTODY, ts, pid, CUSTODY_EXTENDED, p.role, p.sex, p.case_id, s.basis, s.arrived_ts, limit,
                         s.flags))
        if s.arrived_ts + limit > ts:  # a new limit already past changes no alert
            self._clear_time_alerts(pid, s, ts)
            self._arm_time_limit(pid, s)
        return 0

    # ------------------------------------------------------------------ second layer

    cdef int _custody(self, long long ts, int pid, int state) except -1:
        cdef PersonState* p = &self.ps[pid]
        cdef _Slow s = self.slow[pid]
        self.out.append((OUT_CUSTODY, ts, pid, state, p.role, p.sex, p.case_id, s.basis, s.arrived_ts, s.limit,
                         s.flags))
        return 0

    cdef int _leave(self, long long ts, int pid, int reason, long long until) except -1:
        cdef PersonState* p = &self.ps[pid]
        cdef _Slow s = self.slow[pid]
        cdef int c
        for c in range(N_COND):
            if self.cs[pid].since[c] >= 0:
                self._end_condition(pid, c, ts)
        if p.lost >= 0:
            self._end_lost(pid, ts)
        p.lost_gen += 1
        p.lost_pending = 0
        if p.zone >= 0:
            self._move(pid, -1, ts)
        s.away = True
        s.exits.append([ts, -1, reason, until])
        s.exit_gen += 1
        self._custody(ts, pid, CUSTODY_LEAVE)
        self._push(until, T_TEMP_EXIT, pid, s.exit_gen)
        return 0

    cdef int _return(self, long long ts, int pid) except -1:
        cdef PersonState* p = &self.ps[pid]
        cdef _Slow s = self.slow[pid]
        s.away = False
        s.exits[len(s.exits) - 1][1] = ts
        s.exit_gen += 1
        if s.exit_raised >= 0:
            self._person_alert(s, ts, R_TEMP_EXIT, CLEARED, pid, p.zone, s.exit_raised)
            s.exit_raised = -1
        s.noflow = True
        p.anchor = ts
        p.anchor_ord = self.ord
        p.lost_pending = 1
        self._custody(ts, pid, CUSTODY_RETURN)
        self._push(ts + self.lost_after, T_LOST, pid, p.lost_gen, p.anchor_ord)
        return 0

    cdef int _decision(self, long long ts, int pid, int kind) except -1:
        cdef _Slow s = self.slow[pid]
        s.decisions.append((ts, kind))
        if s.decided >= 0:  # a second decision does not re-arm the transfer deadline
            return 0
        s.decided = ts
        self._clear_time_alerts(pid, s, ts)
        self._custody(ts, pid, CUSTODY_DECISION)
        self._push(ts + self.transfer_limit, T_TRANSFER, pid, s.transfer_gen)
        return 0

    cdef int _welfare(self, long long ts, int pid, int kind) except -1:
        cdef _Slow s = self.slow[pid]
        s.welfare.append((ts, kind))
        if kind != WELFARE_MEAL or self.meal_interval <= 0:
            return 0
        if s.meal_raised >= 0:
            self._person_alert(s, ts, R_MEAL, CLEARED, pid, self.ps[pid].zone, s.meal_raised)
            s.meal_raised = -1
        s.meal_gen += 1
        s.meal_since = ts
        self._push(ts + self.meal_interval, T_MEAL, pid, s.meal_gen)
        return 0

    cdef int _clear_second_layer(self, int pid, _Slow s, long long ts) except -1:
        cdef int zone = self.ps[pid].zone
        if s.meal_raised >= 0:
            self._person_alert(s, ts, R_MEAL, CLEARED, pid, zone, s.meal_raised)
            s.meal_raised = -1
        if s.transfer_raised >= 0:
            self._person_alert(s, ts, R_TRANSFER, CLEARED, pid, zone, s.transfer_raised)
            s.transfer_raised = -1
        if s.exit_raised >= 0:
            self._person_alert(s, ts, R_TEMP_EXIT, CLEARED, pid, zone, s.exit_raised)
            s.exit_raised = -1
        s.meal_gen += 1
        s.transfer_gen += 1
        s.exit_gen += 1
        s.away = False
        return 0

    cdef int _checkout(self, const EventRec* r, const EventExtra* x) except -1:
        cdef long long ts = r.ts
        cdef int pid = r.a
        cdef PersonState* p = &self.ps[pid]
        cdef _Slow s = self.slow[pid]
        cdef int c
        missing = self.site.required_mask & ~s.visited
        if missing:
            self._person_alert(s, ts, R_INCOMPLETE, RAISED, pid, p.zone, missing)
        if not r.d & CO_BELONGINGS_KEPT:
            held = self.property.belongings_held(pid)
            if held:
                self._person_alert(s, ts, R_BELONGINGS, RAISED, pid, p.zone, -1, -1, held)
        if r.d & CO_NIGHT_UNESCORTED:
            self._person_alert(s, ts, R_NIGHT, RAISED, pid, p.zone, r.b)
        s.outcome = r.b
        s.released_to = r.c
        s.belongings_reason = x.e
        s.belongings = BELONGINGS_KEPT if r.d & CO_BELONGINGS_KEPT else BELONGINGS_RETURNED
        for c in range(N_COND):
            if self.cs[pid].since[c] >= 0:
                self._end_condition(pid, c, ts)
        if p.lost >= 0:
            self._end_lost(pid, ts)
        self._clear_time_alerts(pid, s, ts)
        self._clear_second_layer(pid, s, ts)
        p.lost_gen += 1
        p.lost_pending = 0
        if p.zone >= 0:
            self._move(pid, -1, ts)
        p.kind = KIND_OUT
        self._custody(ts, pid, CUSTODY_OUT)
        self.out.append(self._trail(pid, ts, True))
        return 0

    cdef tuple _trail(self, int pid, long long now, bint checked_out):
        cdef PersonState* p = &self.ps[pid]
        cdef _Slow s = self.slow[pid]
        stays = [(x[0], x[1], x[2], tuple(sorted(x[3])), x[4]) for x in s.stays]
        if s.stay is not None:
            x = s.stay
            unrec = x[4] + (now - x[5] if x[5] >= 0 else 0)
            stays.append((x[0], x[1], -1, tuple(sorted(x[3])), unrec))
        gaps = list(s.gaps)
        if s.gap_from >= 0:
            gaps.append((s.gap_from, -1))
        missing = self.site.required_mask & ~s.visited
        closed = bool(checked_out and not p.ever_lost and missing == 0 and all(x[4] == 0 for x in stays))
        second = (tuple([tuple(e) for e in s.exits]), tuple(s.welfare), s.outcome, s.released_to, tuple(s.decisions),
                  s.belongings, s.belongings_reason, s.minor, s.vulnerable, s.guardian)
        return (OUT_TRAIL, now, pid, s.checkin_ts, now if checked_out else -1, stays, missing, closed,
                bool(p.ever_lost), gaps, list(s.alerts), p.case_id, s.basis, s.arrived_ts, s.limit, p.role, p.sex,
                second)

    # ------------------------------------------------------------------ cameras

    cdef int _camera(self, long long ts, int cam, int state) except -1:
        cdef bint recording = state == CAM_RECORDING
        cdef int delta, before, zone
        cdef bint stopped
        if state == CAM_ONLINE or (self.camera_rec[cam] != 0) == recording:
            return 0
        self.camera_rec[cam] = 1 if recording else 0
        delta = 1 if recording else -1
        for zone in self.camera_zones[cam]:
            before = self.zone_rec_cams[zone]
            self.zone_rec_cams[zone] = before + delta
            if (before == 0) == (before + delta == 0) or not self.zone_requires_recording[zone]:
                continue
            stopped = before + delta == 0
            for sid in sorted(self.zone_subjects[zone]):
                stay = (<_Slow> self.slow[sid]).stay
                if stopped:
                    stay[5] = ts
                else:
                    stay[4] += ts - stay[5]
                    stay[5] = -1
            self._evaluate_zones(-1, zone, -1)
        return 0


cdef inline bint _before(const Timer* x, const Timer* y) noexcept nogil:
    if x.deadline != y.deadline:
        return x.deadline < y.deadline
    if x.cls != y.cls:
        return x.cls < y.cls
    return x.seq < y.seq
