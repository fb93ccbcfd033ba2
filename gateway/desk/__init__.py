"""The desk: the officers' HTTP API beside the engine (check-in/out, enrolment, property,
work orders), its pre-checks and messages, and the staff accounts that sign in to it.

api.py (FastAPI app, served by the supervisor), checks.py (what the desk refuses before the
engine sees it), messages.py (the refusals' wording, per request language), staff.py (accounts,
passwords, sessions).
"""
