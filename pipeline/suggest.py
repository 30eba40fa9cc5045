"""The nearest known name to a mistyped one, for error messages."""

from __future__ import annotations

import difflib


def unknown_name(name: str, choices: list[str], kind: str = "name") -> str:
    """`did you mean `x`? choose from a, b, c` (or just the choices when none is near)."""
    near = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    listed = f"choose from {', '.join(choices)}" if choices else f"there is no {kind} to choose"
    return f"did you mean `{near[0]}`? {listed}" if near else listed
