"""Cron schedules (PIPELINE_SCHEDULE, POLL_SCHEDULE): a 5-field expression is checked when the settings are read,
so a bad value fails early, naming the bad field."""

import re

# (name, lowest, highest) of the five fields; day-of-week 7 is Sunday too.
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
NAMES = {
    "month": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "day of week": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
ITEM = re.compile(r"^(?P<range>\*|(?P<low>\w+)(-(?P<high>\w+))?)(/(?P<step>\d+))?$")


def _value(text: str, field: str, low: int, high: int) -> int:
    names = NAMES.get(field, [])
    if text.lower() in names:
        return names.index(text.lower()) + (1 if field == "month" else 0)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{field} value {text!r} is not in {low}-{high}")
    return int(text)


def _check_field(text: str, field: str, low: int, high: int) -> None:
    for item in text.split(","):
        match = ITEM.match(item)
        if not match:
            raise ValueError(f"{field} {item!r} is not a cron list item (*, N, N-M, with an optional /step)")
        if match["step"] is not None and int(match["step"]) < 1:
            raise ValueError(f"{field} step in {item!r} must be at least 1")
        if match["low"] is not None:
            first = _value(match["low"], field, low, high)
            if match["high"] is not None and _value(match["high"], field, low, high) < first:
                raise ValueError(f"{field} range {item!r} runs backwards")


def check_schedule(expression: str) -> str:
    """The expression when it is a valid 5-field cron schedule; ValueError naming the bad field otherwise."""
    fields = expression.split()
    if len(fields) != len(FIELDS):
        raise ValueError(f"{expression!r} has {len(fields)} fields; a cron schedule has 5")
    for text, (field, low, high) in zip(fields, FIELDS, strict=True):
        _check_field(text, field, low, high)
    return " ".join(fields)
