"""Where people can walk on a site: the located zones, the flow graph and a subject's route.

Part of the scenario generator (gateway/scenario/generator.py). Pure computation on a SiteConfig: the
route is derived from the flow graph and the required steps, so any valid site works, not
only the demo ones. A zone without a reader is invisible to the engine (nobody can be placed
there), so routes only use zones that have at least one reader.
"""
from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from core_ext.site import SiteConfig


class ScenarioError(ValueError):
    """The requested scenario cannot be generated for this site (says which part and why)."""


# Zones people only pass through; every other zone on a route is a station that holds one
# subject (with their escort) at a time.
TRANSIT_TYPES = frozenset({"entry", "corridor", "exit"})

# Preferred order of the intake stations when the flow graph leaves the order open (no flow,
# or equal distances): the desk first, then the search, belongings, then data collection.
INTAKE_PREFERENCE = ("registration", "security_check", "belongings", "info_collection", "identification",
                     "medical", "waiting", "rest", "interrogation", "questioning", "property_store")
OPTIONAL_INTAKE = ("registration", "belongings")
MAX_PERMUTED_STEPS = 7


@dataclass(frozen=True)
class RouteTemplate:
    """The stations a subject visits, as zone types, before the per-subject choices."""

    start: str                 # zone where a group appears (an entry)
    intake: tuple[str, ...]    # station types visited first, in order (required steps included)
    exit: str | None           # zone where the group leaves the site; None: check out in place


class SiteGraph:
    """Located zones, readers per zone, allowed subject moves and shortest paths."""

    def __init__(self, cfg: SiteConfig):
        self.cfg = cfg
        self.zone_type = {z.id: z.type for z in cfg.zones}
        self.zone_cfg = {z.id: z for z in cfg.zones}
        readers: dict[str, list[str]] = {}
        for r in cfg.readers:
            readers.setdefault(r.zone, []).append(r.id)
        self.readers = {zone: tuple(ids) for zone, ids in readers.items()}
        self.located = [z.id for z in cfg.zones if z.id in self.readers]
        if not self.located:
            raise ScenarioError(f"{cfg.source}: the site has no readers, so nobody can be located")
        self.by_type: dict[str, list[str]] = {}
        for zid in self.located:
            self.by_type.setdefault(self.zone_type[zid], []).append(zid)
        if cfg.flow is None:
            self.succ: dict[str, list[str]] | None = None
        else:
            succ: dict[str, list[str]] = {z: [] for z in self.located}
            for a, b in cfg.flow:
                if a in succ and b in succ and b not in succ[a]:
                    succ[a].append(b)
            self.succ = succ
        self._paths: dict[tuple[str, str], tuple[str, ...] | None] = {}

    def is_station(self, zone: str) -> bool:
        return self.zone_type[zone] not in TRANSIT_TYPES

    def allowed(self, a: str, b: str) -> bool:
        return self.succ is None or b in self.succ[a]

    def path(self, a: str, b: str) -> tuple[str, ...] | None:
        """Shortest allowed walk from a to b (both ends included), None if there is none."""
        key = (a, b)
        if key in self._paths:
            return self._paths[key]
        if a == b:
            found: tuple[str, ...] | None = (a,)
        elif self.succ is None:
            found = (a, b)
        else:
            prev: dict[str, str | None] = {a: None}
            queue = deque([a])
            found = None
            while queue:
                cur = queue.popleft()
                if cur == b:
                    walk = [b]
                    while prev[walk[-1]] is not None:
                        walk.append(prev[walk[-1]])  # type: ignore[arg-type]
                    found = tuple(reversed(walk))
                    break
                for nxt in self.succ[cur]:
                    if nxt not in prev:
                        prev[nxt] = cur
                        queue.append(nxt)
        self._paths[key] = found
        return found

    def distance(self, a: str, b: str) -> int | None:
        p = self.path(a, b)
        return None if p is None else len(p) - 1

    def type_distance(self, a: str, zone_type: str) -> int | None:
        best = None
        for z in self.by_type.get(zone_type, ()):
            d = self.distance(a, z)
            if d is not None and (best is None or d < best):
                best = d
        return best

    # ------------------------------------------------------------------ route template

    def route_template(self) -> RouteTemplate:
        start = self._start_zone()
        exit_zone = self._exit_zone(start)
        # the zones a group appears in and leaves by are visited anyway
        visited_anyway = {self.zone_type[start]} | ({self.zone_type[exit_zone]} if exit_zone else set())
        required = []
        for step in self.cfg.required_steps:
            if step not in self.by_type:
                raise ScenarioError(f"{self.cfg.source}: required step '{step}' has no zone with a reader, "
                                    "so no subject can ever complete it")
            if step not in required and step not in visited_anyway:
                required.append(step)
        optional = [t for t in OPTIONAL_INTAKE if t in self.by_type and t not in required and t not in visited_anyway]
        for dropped in range(len(optional) + 1):
            for keep in itertools.combinations(optional, len(optional) - dropped):
                order = self._best_order(start, list(keep) + required, exit_zone)
                if order is not None:
                    return RouteTemplate(start=start, intake=order, exit=exit_zone)
        raise ScenarioError(f"{self.cfg.source}: no walk along the flow from '{start}' visits every required "
                            f"step ({', '.join(required)})" + (f" and reaches '{exit_zone}'" if exit_zone else ""))

    def _start_zone(self) -> str:
        if "entry" in self.by_type:
            return self.by_type["entry"][0]
        if self.succ is not None:
            has_incoming = {b for outs in self.succ.values() for b in outs}
            for zid in self.located:
                if zid not in has_incoming:
                    return zid
        return self.located[0]

    def _exit_zone(self, start: str) -> str | None:
        for zid in self.by_type.get("exit", ()):
            if self.path(start, zid) is not None:
                return zid
        return None

    def _best_order(self, start: str, types: list[str], exit_zone: str | None) -> tuple[str, ...] | None:
        """The visiting order of station types with the shortest walk (preference breaks ties)."""
        rank = {t: (INTAKE_PREFERENCE.index(t) if t in INTAKE_PREFERENCE else len(INTAKE_PREFERENCE))
                for t in types}
        if len(types) > MAX_PERMUTED_STEPS:
            candidates = [tuple(sorted(types, key=rank.__getitem__))]
        else:
            candidates = list(itertools.permutations(types))
        best: tuple[int, tuple[int, ...], tuple[str, ...]] | None = None
        for order in candidates:
            cost = self.walk_cost(start, order, exit_zone)
            if cost is None:
                continue
            key = (cost, tuple(rank[t] for t in order), order)
            if best is None or key < best:
                best = key
        return None if best is None else best[2]

    def walk_cost(self, start: str, order: tuple[str, ...], exit_zone: str | None) -> int | None:
        """Length of a greedy walk through one zone of each type in order, None if impossible."""
        cur, total = start, 0
        for t in order:
            options = []
            for z in self.by_type[t]:
                d = self.distance(cur, z)
                if d is not None:
                    options.append((d, z))
            if not options:
                return None
            d, cur = min(options)
            total += d
        if exit_zone is not None:
            d = self.distance(cur, exit_zone)
            if d is None:
                return None
            total += d
        return total


def scale_site(cfg: SiteConfig, factor: int) -> SiteConfig:
    """A bigger site for benchmarks: every station zone (with its readers, cameras and locker
    banks) repeated `factor` times, sharing the entry, corridors and exit; the flow connects
    every copy of a zone to every copy of its successors. Copy 1 keeps the original ids,
    copy k gets a `-k` suffix. The result is validated like any site config."""
    import yaml

    from core_ext.site import parse_site

    if not 1 <= factor <= 16:
        raise ScenarioError(f"scale factor must be between 1 and 16, got {factor}")
    data = cfg.model_dump(exclude={"extras", "source"}, mode="json")
    # The copies have no place on the original plan: the scaled site gets a generated one.
    data.pop("layout", None)
    transit = {z["id"] for z in data["zones"] if z["type"] in TRANSIT_TYPES}

    def copies(zone_id: str) -> list[str]:
        return [zone_id] if zone_id in transit else [zone_id] + [f"{zone_id}-{k}" for k in range(2, factor + 1)]

    zones = []
    for z in data["zones"]:
        for k, zid in enumerate(copies(z["id"]), start=1):
            suffix = "" if k == 1 else f"-{k}"
            zones.append({**z, "id": zid, "cameras": [c + suffix for c in z["cameras"]]})
    data["zones"] = zones
    if data.get("flow") is not None:
        data["flow"] = [[a2, b2] for a, b in data["flow"] for a2 in copies(a) for b2 in copies(b)]
    for section in ("readers", "lockers"):
        out = []
        for item in data.get(section) or []:
            zone = item.get("zone")
            for k, zid in enumerate(copies(zone) if zone else [zone], start=1):
                out.append({**item, "id": item["id"] + ("" if k == 1 else f"-{k}"), "zone": zid})
        data[section] = out
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return parse_site(text, source=f"{cfg.source} (x{factor})")
