"""The custody correlation engine.

`core_ext.select` picks each compiled Cython module (the engine core and the JSON Lines scanner)
when it is built and importable, else its pure-Python twin; `engine_info()` says which. Set
CUSTODY_ENGINE=reference to force both twins, CUSTODY_ENGINE=compiled to make a missing compiled
module an error.
"""

from __future__ import annotations


def engine_info() -> str:
    from core_ext.select import ENGINE_NAME, SCANNER_NAME

    return f"{ENGINE_NAME}; scanner: {SCANNER_NAME}"
