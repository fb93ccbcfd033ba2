"""The i18n tests start real server processes with the server tests' helpers (tests/server)."""

from __future__ import annotations

import sys
from pathlib import Path

SERVER_TESTS = Path(__file__).resolve().parents[1] / "server"
if str(SERVER_TESTS) not in sys.path:
    sys.path.insert(0, str(SERVER_TESTS))
