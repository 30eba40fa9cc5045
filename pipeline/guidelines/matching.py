"""Rule matching: where in a prompt each policy rule applies, as spans of the text the user wrote."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.guidelines.normalise import Word, words
from pipeline.guidelines.policy import Guidelines, Rule, Term

# Words allowed between a negation and its term: "no visible weapons".
_NEGATION_FILLERS = frozenset({"any", "visible", "overt", "explicit", "real", "actual"})
# For rewrite rules, a negation also covers a list of terms: "without any soldiers or tanks".
_LIST_WORDS = frozenset({"or", "nor", "and"})


@dataclass(frozen=True)
class Match:
    """One place a rule applies: the rule, the policy term, and the span [start, end) of the prompt."""

    rule: Rule
    term: str
    start: int
    end: int
    plural: bool = False


def term_spans(term: Term, found: list[Word]) -> list[tuple[int, int]]:
    """Word index ranges [i, j) where `term` occurs: stems compared when inflections count, else spellings."""
    keys = term.keys
    size = len(keys)
    spans = []
    for first in range(len(found) - size + 1):
        if all(keys[k] in _forms(found[first + k], term.inflected) for k in range(size)):
            spans.append((first, first + size))
    return spans


def _forms(word: Word, inflected: bool) -> tuple[str, ...]:
    return word.stems if inflected else word.readings


@dataclass(frozen=True)
class Negation:
    """What makes a mention negated: the negation words, and the words of every term (for lists of them)."""

    phrases: tuple[tuple[str, ...], ...]
    term_keys: frozenset[str]

    def covers(self, index: int, found: list[Word], text: str, lists: bool = False) -> bool:
        """Whether the word at `index` follows a negation in the same clause ("no weapons"); with `lists`,
        also across a list of terms ("without any soldiers or tanks")."""
        previous = index - 1
        while previous >= 0 and _joined(found[previous], found[previous + 1], text):
            word = found[previous]
            if self._ends_negation(previous, found):
                return True
            listed = lists and (
                any(r in _LIST_WORDS or r in self.term_keys for r in word.readings)
                or any(s in self.term_keys for s in word.stems)
            )
            if not (listed or any(r in _NEGATION_FILLERS for r in word.readings)):
                return False
            previous -= 1
        return False

    def _ends_negation(self, last: int, found: list[Word]) -> bool:
        for phrase in self.phrases:
            first = last - len(phrase) + 1
            if first >= 0 and all(phrase[k] in found[first + k].readings for k in range(len(phrase))):
                return True
        return False


def negation_for(guidelines: Guidelines) -> Negation:
    """The negation words of a policy, and the words of all its terms."""
    keys = {key for rule in guidelines.rules for term in rule.terms for key in term.keys}
    return Negation(guidelines.negations, frozenset(keys))


def _joined(before: Word, after: Word, text: str) -> bool:
    return not text[before.end : after.start].strip()


def rule_matches(rule: Rule, text: str, found: list[Word], negation: Negation) -> list[Match]:
    """Every place `rule` applies in `text` (whose words are `found`), leaving out negated mentions and the
    innocent phrases the rule lists under `unless` ("think tank")."""
    innocent = [span for term in rule.unless for span in term_spans(term, found)]
    matches = []
    for term in rule.terms:
        for first, last in term_spans(term, found):
            if negation.covers(first, found, text, lists=rule.action == "rewrite"):
                continue
            if any(a < last and first < b for a, b in innocent):
                continue
            plural = _is_plural(term, found[last - 1])
            matches.append(Match(rule, term.text, found[first].start, found[last - 1].end, plural))
    if rule.near is not None:
        matches.extend(_near_matches(rule, text, found, negation))
    return matches


def _is_plural(term: Term, word: Word) -> bool:
    return term.inflected and not term.words[-1].endswith("s") and any(r.endswith("s") for r in word.readings)


def _near_matches(rule: Rule, text: str, found: list[Word], negation: Negation) -> list[Match]:
    near = rule.near
    firsts = [(term, span) for term in near.first for span in term_spans(term, found)]
    seconds = [(term, span) for term in near.second for span in term_spans(term, found)]
    matches = []
    for first_term, (a0, a1) in firsts:
        for second_term, (b0, b1) in seconds:
            gap = b0 - a1 if b0 >= a1 else a0 - b1
            if 0 <= gap < near.window and not negation.covers(min(a0, b0), found, text):
                start, end = min(a0, b0), max(a1, b1)
                matches.append(Match(rule, f"{first_term.text} ~ {second_term.text}", found[start].start,
                                     found[end - 1].end))
    return matches


def photorealistic(found: list[Word], guidelines: Guidelines) -> bool:
    """Whether the prompt itself asks for a photographic look ("photo", "realistic", ...)."""
    return any(term_spans(term, found) for term in guidelines.photorealistic_terms)


def find_matches(guidelines: Guidelines, text: str, *, photorealistic_style: bool) -> list[Match]:
    """Every rule match in `text`, in rule order then text order, without duplicates of one span."""
    found = words(text)
    photo = photorealistic_style or photorealistic(found, guidelines)
    negation = negation_for(guidelines)
    matches: list[Match] = []
    for rule in guidelines.rules:
        if rule.photorealistic_only and not photo:
            continue
        seen = set()
        for match in sorted(rule_matches(rule, text, found, negation), key=lambda m: (m.start, -m.end)):
            if not any(s <= match.start and match.end <= e for s, e in seen):
                seen.add((match.start, match.end))
                matches.append(match)
    return matches
