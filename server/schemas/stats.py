"""The supervision figures (GET /api/v1/stats): documented here, built by server/services/stats.py."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RuleFigures(BaseModel):
    raised: int = Field(description="alerts of the rule raised in the window")
    acknowledged: int = Field(description="of those, acknowledged (or resolved) by now")
    resolved: int = Field(description="of those, resolved by now")
    unhandled: int = Field(description="of those, still open (neither acknowledged nor resolved) now")
    ack_p50_s: float | None = Field(
        description="median seconds from raise to acknowledgement (nearest rank); null when none"
    )
    ack_p95_s: float | None = Field(description="95th percentile of the same (nearest rank); null when none")
    raised_s_total: float = Field(
        description="seconds the alerts stayed raised (raise to clear, cut at `to` and at "
        "now); 0 for one-shot rules, which are never cleared"
    )


class Figures(BaseModel):
    subjects_checked_in: int = Field(description="check-in events")
    subjects_checked_out: int = Field(description="check-out events")
    closed_trails: int = Field(description="trails of the window's check-outs that were closed (DESIGN §3)")
    closed_loop_rate: float | None = Field(
        description="closed_trails / subjects_checked_out; null when nothing was checked out"
    )
    alerts_by_rule: dict[str, RuleFigures] = Field(
        description="every rule id of the vocabulary, and any other rule raised"
    )
    alerts_raised: int
    alerts_unhandled: int = Field(description="alerts raised in the window and still open now")
    violations: int = Field(description="raised alerts of every rule but time_limit_warning (a reminder)")
    violations_per_100_subjects: float | None = Field(description="100 × violations / subjects_checked_in; null when 0")
    time_limit_exceeded: int = Field(description="time_limit_exceeded alerts raised")
    recorded_ratio: float | None = Field(
        description=(
            "1 − unrecorded / recording time over the trails of the window's check-outs: recording time is the "
            "length of every stay in a zone that requires recording, unrecorded its stays' unrecorded_ms; null when "
            "there was no such time"
        )
    )
    recording_s: float = Field(description="the recording time above, in seconds")
    unrecorded_s: float = Field(description="of which unrecorded, in seconds")
    temporary_exits: int = Field(description="leave events (temporary exits: 指认现场, 起赃, 就医)")
    intakes: int = Field(description="intake events")
    withdrawals: int = Field(description="withdraw work orders")
    items_overdue: int = Field(description="item_overdue alerts raised")
    item_mismatches: int = Field(description="item_mismatch alerts raised")
    unauthorized_openings: int = Field(description="locker_unauthorized_open alerts raised")


class SiteFigures(Figures):
    site_id: str
    site_name: str
    day: str | None = Field(None, description="group_by=day: the site's local date (YYYY-MM-DD)")
    day_from: int | None = Field(None, description="group_by=day: start of that day in the window (epoch ms)")
    day_to: int | None = Field(None, description="group_by=day: its end (exclusive)")


class OfficerFigures(BaseModel):
    site_id: str
    site_name: str
    officer: str | None = Field(description="null on the row of violations no trail attributes yet")
    subjects: int = Field(description="check-outs in the window whose trail lists the officer on any stay")
    violations: int
    violations_per_100_subjects: float | None
    violations_by_rule: dict[str, int]
    violations_unattributed: int | None = None


class StatsResponse(BaseModel):
    from_: int = Field(alias="from", description="start of the window (epoch ms, inclusive)")
    to: int = Field(description="end of the window (epoch ms, exclusive)")
    group_by: str | None = None
    sites: list[SiteFigures] | list[OfficerFigures]
    totals: Figures = Field(description="every visible site together over the whole window (never grouped)")
