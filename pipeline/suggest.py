"""The nearest known name to a mistyped one, for error messages."""

from __future__ import annotations

import difflib


def nearest(name: str, choices: list[str]) -> str | None:
    """The choice closest to `name`, if any is close: the only one that starts with it, else difflib's
    closest at a ratio of at least 0.6."""
    starting = [choice for choice in choices if choice.startswith(name)]
    if len(starting) == 1:
        return starting[0]
    found = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_name(name: str, choices: list[str], kind: str = "name") -> str:
    """`did you mean `x`? choose from a, b, c` (or just the choices when none is near)."""
    near = nearest(name, choices)
    listed = f"choose from {', '.join(choices)}" if choices else f"there is no {kind} to choose"
    return f"did you mean `{near}`? {listed}" if near else listed
