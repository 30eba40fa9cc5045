"""Alt text for screen readers: a short description of the image made, from the prompt the guidelines produced."""

from __future__ import annotations

import re

MAX_LENGTH = 125
"""The usual guidance for alt text: screen readers read it whole, so keep it to about 125 characters."""

# Sentences that instruct the model (or the illustrator) rather than describe the picture.
_INSTRUCTION = re.compile(
    r"^(please|kindly|ensure|make sure|make it|use|avoid|do not|don't|never|keep|include|create|generate|render|draw|"
    r"depict|show|add|focus|emphasi[sz]e|highlight|incorporate|capture|convey|consider|try|aim|remember|note)\b",
    re.IGNORECASE,
)
_MODAL = re.compile(r"\b(should|must|needs? to|has to|have to)\b", re.IGNORECASE)
# "Realistic high-definition image representing the concept of ...:" and similar framing of the picture itself.
_MEDIUM = r"(image|illustration|picture|photo(graph)?|depiction|rendering|render|artwork|scene|drawing|painting)"
_FRAMING = re.compile(
    rf"^(an?\s+|the\s+)?([\w-]+\s+){{0,4}}{_MEDIUM}\s+(of|showing|depicting|representing|illustrating|that shows)\s+",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def subject_of(prompt: str, rules: list[dict]) -> str:
    """The prompt as the guidelines rewrote it, without the style's template: each rewrite rule's match replaced."""
    text = " ".join(prompt.split())
    for rule in rules:
        if rule.get("action") == "rewrite" and rule.get("matched") and rule.get("replacement") is not None:
            text = text.replace(" ".join(rule["matched"].split()), rule["replacement"], 1)
    return text


def describe(prompt: str, rules: list[dict], limit: int = MAX_LENGTH) -> str:
    """Alt text from the rewritten prompt: instructions and framing dropped, whole sentences up to `limit` characters."""
    text = subject_of(prompt, rules)
    head, colon, tail = text.partition(":")
    if colon and tail.strip() and re.search(rf"\b{_MEDIUM}\b", head, re.IGNORECASE) and len(head) < 160:
        text = tail.strip()  # "A realistic image representing X: <the description>"
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    kept = [s for s in sentences if not _INSTRUCTION.match(s) and not _MODAL.search(s)] or sentences[:1]
    kept = [_FRAMING.sub("", sentence, count=1) or sentence for sentence in kept]
    chosen: list[str] = []
    for sentence in kept:
        sentence = sentence[:1].upper() + sentence[1:]
        if not sentence.endswith((".", "!", "?")):
            sentence += "."
        if len(" ".join(chosen + [sentence])) > limit:
            break
        chosen.append(sentence)
    if chosen:
        return " ".join(chosen)
    first = kept[0][:1].upper() + kept[0][1:]
    cut = first[: limit - 1]
    for mark in (", ", " "):
        if mark in cut:
            cut = cut[: cut.rindex(mark)]
            break
    return cut.rstrip(" ,;:") + "…"


def alt_text_for(record: dict, given: str | None) -> dict:
    """The record's alt text fields: `--alt-text` when given, else a description from the final prompt."""
    if given:
        return {"alt_text": given, "alt_text_source": "--alt-text"}
    rules = (record.get("guidelines") or {}).get("rules") or []
    return {"alt_text": describe(record["prompt"], rules), "alt_text_source": "prompt after the guidelines"}
