"""Which item carries which in-slot RFID label number.

Lock boards with RFID in the slots report label numbers; events carry item ids. By default
the id is the number through the profile's `items.format` (labels printed from the item id,
e.g. "EV-{:06d}"). Where items have ids of another shape (the property system's own), the
gateway binds id and label at intake, and drivers and simulators sharing this table agree.
"""

from __future__ import annotations


class ItemTagConflict(ValueError):
    pass


class ItemTags:
    def __init__(self) -> None:
        self._item_by_number: dict[int, str] = {}
        self._number_by_item: dict[str, int] = {}
        self._next_free = 0xA0000000  # numbers the simulator hands out, far from printed labels

    def bind(self, item: str, number: int) -> None:
        if not 0 < number < 2**32:
            raise ValueError(f"label number {number} for item {item!r} is outside 1..2^32-1")
        other = self._item_by_number.get(number)
        if other is not None and other != item:
            raise ItemTagConflict(f"label {number} already belongs to item {other!r}, not {item!r}")
        self._item_by_number[number] = item
        self._number_by_item[item] = number

    def item_for(self, number: int, fmt: str) -> str:
        return self._item_by_number.get(number) or fmt.format(number)

    def number_for(self, item: str) -> int | None:
        return self._number_by_item.get(item)

    def allocate(self, item: str) -> int:
        """A label number for an item that has none yet (simulated intake)."""
        number = self._number_by_item.get(item)
        if number is None:
            while self._next_free in self._item_by_number:
                self._next_free += 1
            number = self._next_free
            self.bind(item, number)
        return number
