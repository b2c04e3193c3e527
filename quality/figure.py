"""One figure and the number of items it rests on."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A value (a share 0–1, alpha, or seconds) and how many items it rests on.

    ``value`` is None when the figure cannot be computed at all (no items, or no variation for alpha);
    ``shown(min_items)`` is None also when too few items stand behind it: the page then says
    "not enough overlap" instead of a number.
    """

    value: float | None
    items: int

    def shown(self, min_items: int) -> float | None:
        return self.value if self.items >= min_items else None

    def as_json(self, min_items: int) -> dict:
        return {"value": self.shown(min_items), "items": self.items}


NO_ITEMS = Figure(value=None, items=0)
