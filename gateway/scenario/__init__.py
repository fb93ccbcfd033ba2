"""The scenario generator: a realistic day of events for any valid site (docs/scenario.md).

The runtime never imports it; the tests, the benchmarks, `custody scenario` and the demo do.
Its public face is `generate` and what comes with it (see gateway/scenario/generator.py); the
other modules here are the planner's parts: route.py (routes from the flow graph), people.py
(subjects, escorts, guardians, staff), devices.py (lockers, cameras, doors), inject.py,
inject_devices.py, inject_second.py (violations on purpose).
"""

from gateway.scenario.generator import (
    DEFAULT_START_MS,
    INJECTABLE_RULES,
    ExpectedAlert,
    Scenario,
    ScenarioError,
    generate,
    parse_start,
)

__all__ = [
    "generate",
    "Scenario",
    "ExpectedAlert",
    "ScenarioError",
    "INJECTABLE_RULES",
    "DEFAULT_START_MS",
    "parse_start",
]
