"""Domain errors the API maps to HTTP statuses (in server/app.py)."""

from __future__ import annotations


class NotFound(Exception):
    """404: no such thing, or not visible to this user (we do not reveal which)."""


class Forbidden(Exception):
    """403: authenticated, but the role or site scope does not allow this."""


class Conflict(Exception):
    """409: the request clashes with the current state (duplicate name, alert already resolved)."""
