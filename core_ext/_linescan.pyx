# cython: language_level=3
"""JSON Lines fast path for event logs: plain tag reads parsed straight from bytes.

Used by core_ext.events.EventDecoder.decode_lines when core_ext.select picks it (built, and
CUSTODY_ENGINE is not `reference`); without it the general path (msgspec + the decoder) does the
same work, only slower.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

# The code from the vocabulary (not core_ext.events, not a cimport of _engine.pxd, which would make
# this module load the engine): the scanner depends on nothing else, so the selector can load it alone.
from core_ext.vocab import EVENT_TYPE_CODE

cdef object E_TAG = EVENT_TYPE_CODE["tag_seen"]

cdef object _MISSING = object()

# ---------------------------------------------------------------------------- JSON Lines fast path
#
# Nearly every line of an event log is a plain tag read. `scan_tag_reads` parses such lines
# straight from bytes and interns them; at the first line that is anything else (another event
# type, an escape in a string, a float, an unknown key, bad JSON, an unknown reader, time going
# back) it stops and returns its index, and the caller decodes that line on the general path,
# which also produces the error message. So the fast path never decides that input is bad.

cdef enum:
    K_NONE = 0
    K_TS = 1
    K_TYPE = 2
    K_READER = 3
    K_TAG = 4
    K_RSSI = 5


cdef inline Py_ssize_t _ws(const char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    while i < n and (s[i] == 32 or s[i] == 9 or s[i] == 13 or s[i] == 10):
        i += 1
    return i


cdef inline Py_ssize_t _string_end(const char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Index of the closing quote of a string starting after s[i-1] == '"', or -1 to bail."""
    cdef unsigned char ch
    while i < n:
        ch = <unsigned char> s[i]
        if ch == 34:
            return i
        if ch == 92 or ch < 32:
            return -1
        i += 1
    return -1


cdef inline int _key(const char* s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    cdef Py_ssize_t n = b - a
    if n == 2 and s[a] == 116 and s[a + 1] == 115:
        return K_TS
    if n == 3 and s[a] == 116 and s[a + 1] == 97 and s[a + 2] == 103:
        return K_TAG
    if n == 4 and s[a] == 116 and s[a + 1] == 121 and s[a + 2] == 112 and s[a + 3] == 101:
        return K_TYPE
    if n == 4 and s[a] == 114 and s[a + 1] == 115 and s[a + 2] == 115 and s[a + 3] == 105:
        return K_RSSI
    if n == 6 and s[a] == 114 and s[a + 1] == 101 and s[a + 2] == 97 and s[a + 3] == 100 and s[a + 4] == 101 and s[a + 5] == 114:
        return K_READER
    return K_NONE


def scan_tag_reads(list lines, Py_ssize_t start, dict reader_index, list reader_zone, dict tag_owner,
                   long long last_ts, list out):
    """Appends record tuples for consecutive plain tag_seen lines from `start`.

    Returns (index of the first line not taken, last ts, reads of tags nobody wears).
    """
    cdef Py_ssize_t idx = start, total = len(lines), n, i, ka, kb, va, vb
    cdef const char* s
    cdef int key, digits
    cdef long long ts, value
    cdef bint have_ts, is_tag_seen, neg
    cdef Py_ssize_t ra, rb, ta, tb
    cdef long long unknown = 0
    cdef dict reader_cache = {}, tag_cache = {}
    while idx < total:
        line = lines[idx]
        if type(line) is not bytes:
            break
        s = PyBytes_AS_STRING(line)
        n = len(<bytes> line)
        i = _ws(s, 0, n)
        if i >= n or s[i] != 123:  # {
            break
        i += 1
        have_ts = False
        is_tag_seen = False
        ts = 0
        ra = rb = ta = tb = -1
        while True:
            i = _ws(s, i, n)
            if i >= n or s[i] != 34:
                i = -1
                break
            ka = i + 1
            kb = _string_end(s, ka, n)
            if kb < 0:
                i = -1
                break
            key = _key(s, ka, kb)
            if key == K_NONE:
                i = -1
                break
            i = _ws(s, kb + 1, n)
            if i >= n or s[i] != 58:  # :
                i = -1
                break
            i = _ws(s, i + 1, n)
            if i >= n:
                i = -1
                break
            if s[i] == 34:
                va = i + 1
                vb = _string_end(s, va, n)
                if vb < 0:
                    i = -1
                    break
                i = vb + 1
                if key == K_TYPE:
                    is_tag_seen = (vb - va == 8 and s[va] == 116 and s[va + 1] == 97 and s[va + 2] == 103
                                   and s[va + 3] == 95 and s[va + 4] == 115 and s[va + 5] == 101
                                   and s[va + 6] == 101 and s[va + 7] == 110)
                    if not is_tag_seen:
                        i = -1
                        break
                elif key == K_READER:
                    ra, rb = va, vb
                elif key == K_TAG:
                    ta, tb = va, vb
                else:
                    i = -1
                    break
            else:
                neg = s[i] == 45
                if neg:
                    i += 1
                value = 0
                digits = 0
                while i < n and 48 <= s[i] <= 57 and digits < 18:
                    value = value * 10 + (s[i] - 48)
                    digits += 1
                    i += 1
                if digits == 0 or (i < n and (s[i] == 46 or s[i] == 101 or s[i] == 69 or 48 <= s[i] <= 57)):
                    i = -1
                    break
                if key == K_TS:
                    if neg:
                        i = -1
                        break
                    ts = value
                    have_ts = True
                elif key != K_RSSI:
                    i = -1
                    break
            i = _ws(s, i, n)
            if i < n and s[i] == 44:  # ,
                i += 1
                continue
            if i < n and s[i] == 125:  # }
                i += 1
                break
            i = -1
            break
        if i < 0 or _ws(s, i, n) != n:
            break
        if not (have_ts and is_tag_seen and ra >= 0 and ta >= 0 and tb > ta and ts >= last_ts):
            break
        # Look ids up by their raw bytes; within one run of reads no tag changes hands, so a
        # per-call cache of bytes → person is exact.
        raw = PyBytes_FromStringAndSize(<char*> s + ra, rb - ra)
        reader = reader_cache.get(raw)
        if reader is None:
            reader = reader_index.get(raw.decode())
            if reader is None:
                break
            reader_cache[raw] = reader
        raw = PyBytes_FromStringAndSize(<char*> s + ta, tb - ta)
        person = tag_cache.get(raw, _MISSING)
        if person is _MISSING:
            person = tag_owner.get(raw.decode())
            tag_cache[raw] = person
        last_ts = ts
        if person is None:
            unknown += 1
        else:
            out.append((ts, E_TAG, person, reader_zone[reader], reader, 0, 0, 0, 0, 0, None))
        idx += 1
    return idx, last_ts, unknown
