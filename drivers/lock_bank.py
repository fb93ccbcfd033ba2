"""What every lock board driver shares, whatever its bus: the run of bank slots it drives, and
which slot doors changed since the last status it read."""

from __future__ import annotations

from typing import Any


class LockBankMixin:
    """For drivers whose wiring has `bank`, `first_slot`, `report_initial_state`, and whose settings
    have `slots`. The driver sets `self.bank` and `self._slot_open = None` in its constructor."""

    wiring: Any
    settings: Any
    id: str
    bank: str
    _slot_open: list[bool] | None

    def _slot_range(self) -> range:
        first = self.wiring.first_slot
        return range(first, first + self.settings.slots)

    def covers(self, bank: str, slot: int) -> bool:
        """Whether this board drives `slot` of `bank` (the gateway picks the board to unlock)."""
        return bank == self.bank and slot in self._slot_range()

    def slot_states(self) -> dict[int, str] | None:
        if self._slot_open is None:
            return None
        first = self.wiring.first_slot
        return {i + first: "open" if is_open else "closed" for i, is_open in enumerate(self._slot_open)}

    def _check_slot(self, slot: int) -> None:
        slots = self._slot_range()
        if slot not in slots:
            raise ValueError(f"device {self.id}: slot {slot} outside {slots.start}..{slots.stop - 1}")

    def _door_changes(self, now_open: list[bool]) -> list[tuple[int, int, bool]]:
        """Records `now_open` and returns (index, bank slot, is open) for each door that changed.

        The first status sets the baseline silently (unless `report_initial_state`), so a gateway
        restart does not look like every slot opening."""
        before = self._slot_open
        self._slot_open = now_open
        if before is None:
            if not self.wiring.report_initial_state:
                return []
            before = [not is_open for is_open in now_open]
        first = self.wiring.first_slot
        return [(index, index + first, now) for index, (was, now) in enumerate(zip(before, now_open)) if was != now]
