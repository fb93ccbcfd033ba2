"""The custody correlation engine.

`core_ext.select` picks the compiled Cython core when it is built and importable, else the
pure-Python reference twin; `engine_info()` says which. Set CUSTODY_ENGINE=reference to force
the twin.
"""

from __future__ import annotations


def engine_info() -> str:
    from core_ext.select import ENGINE_NAME

    return ENGINE_NAME
