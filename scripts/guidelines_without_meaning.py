"""Write the shipped guidelines without their `[meaning]` table, for a machine that lacks the sentence encoder's
package (the GPU machines' image: its 83 MB wheel is more than a device run can carry). Used by
scripts/gpu-check.sh and scripts/gpu-bench.sh, which say on stderr that the meaning layer is off there.

    python3 scripts/guidelines_without_meaning.py OUT.toml
"""

from __future__ import annotations

import sys
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "prompts" / "guidelines.toml"


def without_meaning(text: str) -> str:
    """The policy text with its `[meaning]` table (up to the next table, or the end) taken out."""
    start = text.index("\n[meaning]\n")
    following = text.find("\n[", start + 1)
    return text[:start + 1] + (text[following + 1:] if following != -1 else "")


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(without_meaning(SHIPPED.read_text(encoding="utf-8")), encoding="utf-8")
