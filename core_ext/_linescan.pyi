# The Python-level interface of the compiled JSON Lines scanner (core_ext/_linescan.pyx), picked
# by core_ext/select.py.

def scan_tag_reads(
    lines: list[bytes],
    start: int,
    reader_index: dict[str, int],
    reader_zone: list[int],
    tag_owner: dict[str, int],
    last_ts: int,
    out: list[tuple],
) -> tuple[int, int, int]: ...
