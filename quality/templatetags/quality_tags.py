from django import template

register = template.Library()


@register.filter
def figure(data: dict | None, style: str = "percent") -> str:
    """A figure ``{"value", "items"}`` as the page writes it: "72 % (25 items)", or why there is no number."""
    if not data or not data.get("items"):
        return "—"
    items = data["items"]
    unit = "item" if items == 1 else "items"
    value = data.get("value")
    if value is None:
        return f"not enough overlap ({items} {unit})"
    if style == "seconds":
        shown = f"{value:.1f} s"
    elif style == "alpha":
        shown = f"{value:.3f}"
    else:
        shown = f"{value:.0%}"
    return f"{shown} ({items} {unit})"


@register.filter
def answers(others: dict[str, int]) -> str:
    """The others' answers on an item: "👍 3 · 👎 1", or "—" when nobody else judged it."""
    return " · ".join(f"{answer} {count}" for answer, count in sorted(others.items())) or "—"


@register.filter
def get_kind(items: dict[str, list], kind: str) -> list:
    return items.get(kind, [])
