"""Rule matching: where in a prompt each policy rule applies, as spans of the text the user wrote."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import takewhile

from pipeline.guidelines.normalise import Word, base, words
from pipeline.guidelines.policy import Guidelines, Rule, Term
from pipeline.guidelines.spelling import Lexicon, build_lexicon, repair
from pipeline.guidelines.vocabulary import vocabulary

# Words allowed between a negation and its term: "no visible weapons".
_NEGATION_FILLERS = frozenset({"any", "visible", "overt", "overtly", "explicit", "explicitly", "real", "actual", "a",
                               "an", "the", "too", "remotely", "excessively", "particularly", "at", "all"})
# For rewrite rules, a negation also covers a list of terms: "without any soldiers or tanks".
_LIST_WORDS = frozenset({"or", "nor", "and"})
# Where one sentence ends: . ! ? ; or a line break, before white space or the end.
_SENTENCE_END = re.compile(r"[.!?;\n](?=\s|$)|\n")
# A context of scope "near" acts on matches that start within this many words of it.
NEAR_CONTEXT = 4
# A long sentence-wide match is reported by its two ends.
_REPORT_LIMIT = 60


@dataclass(frozen=True)
class Match:
    """One place a rule applies: the rule, the policy term, and the span [start, end) of the prompt."""

    rule: Rule
    term: str
    start: int
    end: int
    plural: bool = False
    matched: str = ""
    parts: tuple[tuple[int, int], ...] = ()

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """The spans of the words the match is made of: its parts (a `near` match's paired words), or its span."""
        return self.parts or ((self.start, self.end),)


class _Index(dict):
    """Where each spelling and each base of a list of words occurs, to find a term without scanning every word."""

    def __init__(self, found: tuple[Word, ...]):
        super().__init__()
        for position, word in enumerate(found):
            for reading in word.readings:
                self.setdefault(("r", reading), []).append(position)
            for key in word.stems:
                self.setdefault(("b", key), []).append(position)


@dataclass(frozen=True)
class Prompt:
    """A prompt as matching sees it, analysed once: its text, its words (repaired), each word's sentence number,
    and where each spelling and base occurs."""

    text: str
    words: tuple[Word, ...]
    sentences: tuple[int, ...]
    index: _Index = field(repr=False, compare=False, default_factory=lambda: _Index(()))


def term_spans(term: Term, prompt: Prompt) -> list[tuple[int, int]]:
    """Word index ranges [i, j) where `term` occurs: bases compared when inflections count, else spellings."""
    keys = term.keys
    size = len(keys)
    kind = "b" if term.inflected else "r"
    found = prompt.words
    spans = []
    for first in prompt.index.get((kind, keys[0]), ()):
        if first + size <= len(found) and all(keys[k] in _forms(found[first + k], term.inflected)
                                              for k in range(1, size)):
            spans.append((first, first + size))
    return spans


def spans_of(terms, prompt: Prompt) -> list[tuple[int, int]]:
    """Where any of `terms` occurs, as term_spans gives them."""
    return [span for term in present(terms, prompt) for span in term_spans(term, prompt)]


# Each tuple of terms seen (a rule's terms, its `unless` phrases, a context's terms...) by the key its first word is
# found under, so that a prompt's words pick the few terms that can occur instead of every term being tried.
_BY_FIRST_KEY: dict[int, tuple[tuple[Term, ...], dict[tuple[str, str], list[int]]]] = {}


def present(terms: tuple[Term, ...], prompt: Prompt) -> list[Term]:
    """Those of `terms` whose first word occurs in the prompt, in their order: the only ones that can match."""
    entry = _BY_FIRST_KEY.get(id(terms))
    if entry is None or entry[0] is not terms:
        if len(_BY_FIRST_KEY) > 4096:  # tuples of policies no longer in use
            _BY_FIRST_KEY.clear()
        by_key: dict[tuple[str, str], list[int]] = {}
        for position, term in enumerate(terms):
            by_key.setdefault(("b" if term.inflected else "r", term.keys[0]), []).append(position)
        entry = _BY_FIRST_KEY[id(terms)] = (terms, by_key)
    by_key, index = entry[1], prompt.index
    if len(by_key) <= len(index):
        positions = [p for key, found in by_key.items() if key in index for p in found]
    else:
        positions = [p for key in index if key in by_key for p in by_key[key]]
    return [terms[p] for p in sorted(positions)]


def overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    """Whether `span` shares a word with one of `spans` (a term inside one of its rule's innocent phrases)."""
    return any(a < span[1] and span[0] < b for a, b in spans)


def excused_by(span: tuple[int, int], innocent: list[tuple[int, int]]) -> bool:
    """Whether a term at `span` shares a word with an innocent phrase (`unless`) that it does not hold whole and
    more: "shot" in "shot by Annie Leibovitz" is innocent, but "shot by police" is a longer term that holds the
    innocent "shot by", and wins."""
    return any(a < span[1] and span[0] < b and not (span[0] <= a and b <= span[1] and (a, b) != span)
               for a, b in innocent)


def outside(spans: list[tuple[int, int]], innocent: tuple[Term, ...], prompt: Prompt) -> list[tuple[int, int]]:
    """The `spans` that an `innocent` phrase of the prompt (a rule's or a context's `unless`) does not excuse
    (excused_by)."""
    if not spans or not innocent:
        return spans
    found = spans_of(innocent, prompt)
    return [span for span in spans if not excused_by(span, found)]


def _forms(word: Word, inflected: bool) -> tuple[str, ...]:
    return word.stems if inflected else word.readings


@dataclass(frozen=True)
class Negation:
    """What makes a mention negated: the negation words, and the words of every term (for lists of them)."""

    phrases: tuple[tuple[str, ...], ...]
    term_keys: frozenset[str]

    def covers(self, index: int, found: tuple[Word, ...], text: str, lists: bool = False) -> bool:
        """Whether the word at `index` follows a negation in the same clause ("no weapons"); with `lists`,
        also across a list of terms ("without any soldiers or tanks")."""
        previous = index - 1
        while previous >= 0:
            word = found[previous]
            listed = lists and (
                any(r in _LIST_WORDS or r in self.term_keys for r in word.readings)
                or any(s in self.term_keys for s in word.stems)
            )
            # A comma is crossed only inside a list of terms ("without soldiers, tanks or guns").
            item = listed and word.readings[0] not in _LIST_WORDS and not self._ends_negation(previous, found)
            if not _joined(word, found[previous + 1], text, commas=item):
                return False
            if self._ends_negation(previous, found):
                return True
            if not (listed or any(r in _NEGATION_FILLERS for r in word.readings)):
                return False
            previous -= 1
        return False

    def _ends_negation(self, last: int, found: tuple[Word, ...]) -> bool:
        for phrase in self.phrases:
            first = last - len(phrase) + 1
            if first >= 0 and all(phrase[k] in found[first + k].readings for k in range(len(phrase))):
                return True
        return False


def _joined(before: Word, after: Word, text: str, commas: bool = False) -> bool:
    """Whether nothing but space (and, with `commas`, commas of a list) stands between two words."""
    return not text[before.end : after.start].strip(" ," if commas else " ")


_PREPARED: dict[str, tuple[Negation, Lexicon, frozenset[str]]] = {}


def _prepared(guidelines: Guidelines) -> tuple[Negation, Lexicon, frozenset[str]]:
    """What matching needs from a policy, computed once per policy: negation, lexicon, modifiers to absorb."""
    key = guidelines.digest or str(id(guidelines))
    if key not in _PREPARED:
        _PREPARED[key] = _prepare(guidelines)
    return _PREPARED[key]


def prepared_for(guidelines: Guidelines):
    """What `_prepared` keeps for `guidelines`, to be stored with it (pipeline.guidelines.policy_cache)."""
    return _prepared(guidelines)


def remember_prepared(guidelines: Guidelines, prepared) -> None:
    """Take `prepared` (stored with `guidelines` by policy_cache) as what `_prepared` would compute."""
    _PREPARED.setdefault(guidelines.digest or str(id(guidelines)), prepared)


def negation(guidelines: Guidelines) -> Negation:
    """What makes a mention negated under `guidelines` ("no weapons", "without any soldiers or tanks")."""
    return _prepared(guidelines)[0]


def _prepare(guidelines: Guidelines) -> tuple[Negation, Lexicon, frozenset[str]]:
    inflected: set[str] = set()
    exact: set[str] = set()
    keys: set[str] = set()
    for rule in guidelines.rules:
        groups = list(rule.terms) + ([*rule.near.first, *rule.near.second, *rule.near.third] if rule.near else [])
        for term in groups:
            keys.update(term.keys)
            for word in term.words:
                (inflected if term.inflected else exact).add(word)
    absorb = frozenset(term.words[0] for term in guidelines.absorb if len(term.words) == 1)
    return Negation(guidelines.negations, frozenset(keys)), build_lexicon(inflected, exact), absorb


def analyse(guidelines: Guidelines, text: str) -> Prompt:
    """The prompt's words, with emoji read by the policy, split and misspelt words repaired, and sentences."""
    _, lexicon, _ = _prepared(guidelines)
    found = tuple(repair(words(text, guidelines.emoji), text, lexicon))
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if not _abbreviation(text, m.start())]
    sentences = []
    position = 0
    for word in found:
        while position < len(ends) and ends[position] <= word.start:
            position += 1
        sentences.append(position)
    return Prompt(text, found, tuple(sentences), _Index(found))


def _abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at `dot` ends a one-letter abbreviation ("O.K. Corral", "U.S. troops")."""
    return text[dot] == "." and dot >= 1 and text[dot - 1].isalpha() and (dot == 1 or not text[dot - 2].isalpha())


def rule_matches(rule: Rule, prompt: Prompt, negation: Negation, absorb: frozenset[str] = frozenset()) -> list[Match]:
    """Every place `rule` applies in the prompt, leaving out negated mentions and the innocent phrases the rule
    lists under `unless` ("think tank")."""
    found, text = prompt.words, prompt.text
    innocent = spans_of(rule.unless, prompt)
    matches = []
    for term in present(rule.terms, prompt):
        for first, last in term_spans(term, prompt):
            if negation.covers(first, found, text, lists=rule.action == "rewrite"):
                continue
            if excused_by((first, last), innocent):
                continue
            plural = _is_plural(term, found[last - 1])
            if rule.action == "rewrite":
                while first > 0 and _joined(found[first - 1], found[first], text) and (
                        set(found[first - 1].stems) & absorb or set(found[first - 1].readings) & absorb):
                    first -= 1
            start, end = found[first].start, found[last - 1].end
            matches.append(Match(rule, term.text, start, end, plural, text[start:end], ((start, end),)))
    if rule.near is not None:
        matches.extend(_near_matches(rule, prompt, negation, innocent))
    return matches


def _is_plural(term: Term, word: Word) -> bool:
    if not term.inflected:  # a term matched as written is plural as written ("bombs", "TELs")
        return term.words[-1].endswith("s") and base(term.words[-1]) != term.words[-1]
    return any(r.endswith("s") and base(r) != r for r in word.readings)


def _near_matches(rule: Rule, prompt: Prompt, negation: Negation, innocent: list[tuple[int, int]]) -> list[Match]:
    near, found, text, sentence = rule.near, prompt.words, prompt.text, prompt.sentences

    def spans(terms: tuple[Term, ...]) -> list[tuple[Term, tuple[int, int]]]:
        return [(term, span) for term in present(terms, prompt) for span in term_spans(term, prompt)
                if not excused_by(span, innocent) and not negation.covers(span[0], found, text)]

    firsts, seconds = spans(near.first), spans(near.second)
    thirds = spans(near.third) if near.third else None
    pairs = []
    for first_term, (a0, a1) in firsts:
        for second_term, (b0, b1) in seconds:
            if (a0, a1) == (b0, b1) or sentence[a0] != sentence[b0]:
                continue
            gap = b0 - a1 if b0 >= a1 else a0 - b1
            if gap < 0 or (near.window and gap >= near.window) or (near.ordered and b0 < a1):
                continue
            if thirds is not None and not any(sentence[c0] == sentence[a0] for _, (c0, _) in thirds):
                continue
            pairs.append((gap, first_term, (a0, a1), second_term, (b0, b1)))
    # Each word pairs with its nearest partner: "exploding drones over apartment blocks, ... a metro station" is
    # about the blocks, and a news story loses only that clause
    nearest_first = {a: min(gap for gap, _, a2, _, _ in pairs if a2 == a) for _, _, a, _, _ in pairs}
    nearest_second = {b: min(gap for gap, _, _, _, b2 in pairs if b2 == b) for _, _, _, _, b in pairs}
    matches = []
    for gap, first_term, (a0, a1), second_term, (b0, b1) in pairs:
        if gap > nearest_first[(a0, a1)] and gap > nearest_second[(b0, b1)]:
            continue
        parts = tuple((found[x0].start, found[x1 - 1].end) for x0, x1 in sorted([(a0, a1), (b0, b1)]))
        start, end = found[min(a0, b0)].start, found[max(a1, b1) - 1].end
        written = text[start:end]
        if len(written) > _REPORT_LIMIT:
            one, two = sorted([(a0, a1), (b0, b1)])
            written = f"{text[found[one[0]].start:found[one[1] - 1].end]} … " \
                      f"{text[found[two[0]].start:found[two[1] - 1].end]}"
        matches.append(Match(rule, f"{first_term.text} ~ {second_term.text}", start, end, False, written, parts))
    return matches


def photorealistic(prompt: Prompt, guidelines: Guidelines) -> bool:
    """Whether the prompt itself asks for a photographic look ("photo", "realistic", ...)."""
    return any(term_spans(term, prompt) for term in present(guidelines.photorealistic_terms, prompt))


def _suspended(guidelines: Guidelines, prompt: Prompt, effect: str = "suspend"
               ) -> tuple[set[str], set[tuple[str, int]], list[str], set[str]]:
    """Rules the prompt's contexts of `effect` name: everywhere, or in given sentences; those contexts; and the
    rules named by a context that excuses acts shown being done to people too (`acts`). A negated context word
    does not count ("no candles, just the shooter")."""
    negation = _prepared(guidelines)[0]
    everywhere: set[str] = set()
    in_sentence: set[tuple[str, int]] = set()
    near_words: set[tuple[str, int]] = set()
    acted: list[str] = []
    claimed: list[tuple[int, int]] | None = None
    acts: set[str] = set()
    for context in guidelines.contexts:
        if context.effect != effect:
            continue
        places = [span for term in present(context.terms, prompt) for span in term_spans(term, prompt)
                  if not negation.covers(span[0], prompt.words, prompt.text, lists=True)]
        places = outside(places, context.unless, prompt)
        if places:
            # A context word inside a longer term of a rule is that term's word: the "stock" of a "bump stock",
            # the "team" of a "Stinger team"
            claimed = rule_term_spans(guidelines, prompt) if claimed is None else claimed
            places = [(a, b) for a, b in places if not any(c <= a and b <= d and d - c > b - a for c, d in claimed)]
        if effect == "remove":
            # "Editorial illustration of a woman being strangled" depicts a scene; it names no story
            places = [(a, b) for a, b in places if not _depicts(prompt, b)]
        if not places:
            continue
        acted.append(context.id)
        if context.acts:
            acts.update(context.rules)
        for rule_id in context.rules:
            if context.scope == "prompt":
                everywhere.add(rule_id)
            elif context.scope == "sentence":
                in_sentence.update((rule_id, prompt.sentences[first]) for first, _ in places)
            else:
                near_words.update((rule_id, index) for first, last in places
                                  for index in _near(prompt, first, last))
    in_sentence.update((rule_id, -1 - index) for rule_id, index in near_words)
    return everywhere, in_sentence, acted, acts


# What ends a phrase for a context of scope "near" (punctuation or a line break): "lawmakers debating tank
# purchases" is one phrase, and "the National Assembly, with a howitzer parked outside" two
_PHRASE_END = re.compile(r"[,;:.()\[\]!?\n]")


def _near(prompt: Prompt, first: int, last: int) -> range:
    """The word indexes a context at words [first, last) acts on: within NEAR_CONTEXT words, in the same phrase."""
    low, high = max(0, first - NEAR_CONTEXT), min(len(prompt.words), last + NEAR_CONTEXT)
    for index in range(first - 1, low - 1, -1):
        if _PHRASE_END.search(prompt.text[prompt.words[index].end:prompt.words[index + 1].start]):
            low = index + 1
            break
    for index in range(last, high):
        if _PHRASE_END.search(prompt.text[prompt.words[index - 1].end:prompt.words[index].start]):
            high = index
            break
    return range(low, high)


def rule_term_spans(guidelines: Guidelines, prompt: Prompt) -> list[tuple[int, int]]:
    """Where the terms of the policy's rules occur (innocent `unless` phrases left out)."""
    spans = []
    for rule in guidelines.rules:
        spans.extend(outside(spans_of(rule.terms, prompt), rule.unless, prompt))
    return spans


def excused(guidelines: Guidelines, prompt: Prompt) -> list[str]:
    """The terms of the policy's rules that occur in the prompt and that the policy itself excuses wherever they
    stand: `negation` for a negated term ("without any soldiers or tanks"), `RULE:unless` for a term inside its
    rule's innocent phrase ("a bloody nose"). The learnt layers leave these out too (the classifier's features do
    not count them). Contexts are not among them: a harmful prompt dressed as a documentary, a memorial or a film
    poster borrows a context's words."""
    negation = _prepared(guidelines)[0]
    reasons: list[str] = []
    for rule in guidelines.rules:
        found = spans_of(rule.terms, prompt)
        if not found:
            continue
        if any(negation.covers(a, prompt.words, prompt.text, lists=True) for a, _ in found):
            reasons.append("negation")
        if rule.unless:
            innocent = spans_of(rule.unless, prompt)
            if any(excused_by(span, innocent) for span in found):
                reasons.append(f"{rule.id}:unless")
    return list(dict.fromkeys(reasons))


def find_matches(guidelines: Guidelines, prompt: Prompt, *, photorealistic_style: bool, topic_end: int = 0,
                 topic_rules: frozenset[str] = frozenset()) -> list[Match]:
    """Every rule match in the analysed `prompt`, in rule order then text order, without duplicates of one span, leaving out
    the rules that the prompt's contexts suspend, and matches of `topic_rules` that start before `topic_end`
    (a news story's framing, which names its topic)."""
    negation, _, absorb = _prepared(guidelines)
    photo = photorealistic_style or photorealistic(prompt, guidelines)
    everywhere, in_sentence, _, acts = _suspended(guidelines, prompt)
    starts = {word.start: index for index, word in enumerate(prompt.words)}
    matches: list[Match] = []
    for rule in guidelines.rules:
        if rule.photorealistic_only and not photo:
            continue
        seen = set()
        for match in sorted(rule_matches(rule, prompt, negation, absorb), key=lambda m: (m.start, -m.end)):
            index = starts.get(match.start)
            if (rule.id in everywhere or index is not None and ((rule.id, prompt.sentences[index]) in in_sentence
                                                                or (rule.id, -1 - index) in in_sentence)
                    ) and (rule.id in acts or not _an_act(guidelines, rule, prompt, match, starts)):
                continue
            if match.start < topic_end and rule.id in topic_rules:
                continue
            if not any(s <= match.start and match.end <= e for s, e in seen):
                seen.add((match.start, match.end))
                matches.append(match)
    return matches


# Words that make the "-ing" word after them a noun ("the shooting", "a stabbing", "survivors of the bombing")
_DETERMINERS = frozenset("the a an this that these those its their his her our of after before since".split())
# ... and those that make a participle after them an act being done ("being beaten", "getting stabbed")
_BEING = frozenset("being getting".split())
# ... and, right after people, these too ("the loser is beaten"; not "the victims who were executed")
_BEING_AFTER_PEOPLE = _BEING | frozenset("is are was were gets got".split())
# ... and the nouns that make it a noun too ("shooting victims", "the bombing anniversary")
_AFTERMATH = frozenset("victim victims survivor survivors family families relatives anniversary suspect suspects"
                       .split())


@lru_cache(maxsize=4)
def _people(keep_people: tuple[Term, ...]) -> frozenset[str]:
    """The bases of the last words of `[rewriting] keep_people`, and the pronouns of people."""
    return frozenset({base(term.words[-1]) for term in keep_people} | {"him", "her", "them"})


# Words that end the run of words between a violent term and the people it is done to ("stabbing a tax official",
# "beating his opponent"; not "killing time with friends")
_OBJECT_BREAK = frozenset("with for in on at and or to by from as like into onto over under of than but while"
                          .split())


# Participles that end in neither "-ed" nor "-en" ("being shot", "getting hit")
_IRREGULAR_PARTICIPLES = frozenset("shot hit cut struck hung slain thrown run knifed burnt dragged".split())


def _participle(word: str) -> bool:
    return word.endswith(("ed", "en")) or word in _IRREGULAR_PARTICIPLES


def shows_an_act(guidelines: Guidelines, prompt: Prompt, matches: list[Match]) -> bool:
    """Whether one of violent rules' `matches` in the analysed `prompt` plainly shows an act being done to people:
    people being or getting hurt ("an old woman being beaten"), or a term followed by the people it is done to
    ("strangling his opponent"); the looser readings of _an_act aside."""
    starts = {word.start: index for index, word in enumerate(prompt.words)}
    return any(_an_act(guidelines, match.rule, prompt, match, starts, plainly=True) for match in matches)


def _an_act(guidelines: Guidelines, rule: Rule, prompt: Prompt, match: Match, starts: dict[int, int],
            plainly: bool = False) -> bool:
    """Whether a violent rule's match is an act being done to people ("police beating an old woman", "an old woman
    being beaten", "strangling his opponent"), which a context with `acts = false` does not excuse: a vigil names a
    tragedy, but a beating at a vigil is shown. `starts`: each word's index by where it starts, as find_matches keeps
    it; `plainly`: only the plain readings (shows_an_act)."""
    if rule.category != "violence":
        return False
    people = _people(guidelines.keep_people)
    # people, then "being" or "getting" (or "is", "was", ...) and a participle: "the men being shot at the edge of
    # the pit", "the loser is beaten", wherever the rule's term starts ("being shot" or "men being shot")
    found, begin = prompt.words, starts.get(match.start)
    if begin is not None and any(
            found[index].readings[-1] in _BEING_AFTER_PEOPLE and found[index - 1].stems[-1] in people
            and _participle(found[index + 1].readings[-1])
            for index in range(max(begin, 1), len(found) - 1) if found[index].start < match.end):
        return True
    # a term followed in its phrase by the people it is done to: "cutting the throat of a tax official",
    # "strangling his opponent" (at most two words between, none of _OBJECT_BREAK)
    # (a term ending in "of" or in an "-ing" word, that no determiner makes a noun: not "a vigil for the killing of a
    # student")
    end = next((index for index, word in enumerate(found) if word.start >= match.end), len(found))
    last = found[end - 1].readings[-1] if end else ""
    a_noun = begin is not None and begin > 0 and found[begin - 1].readings[-1] in _DETERMINERS
    if not a_noun and (last == "of" or last.endswith("ing")):
        for index in range(end, min(end + 3, len(found))):
            if _PHRASE_END.search(prompt.text[found[index - 1].end:found[index].start]):
                break
            if found[index].stems[-1] in people:
                return not {found[index].readings[-1], found[index].stems[-1]} & _AFTERMATH
            if found[index].readings[-1] in _OBJECT_BREAK:
                break
    if plainly or len(match.parts) < 2:
        return False
    # one of its parts ends in people (`[rewriting] keep_people`): "an old woman", "the marchers", "him"
    ends = {word.end: word for word in prompt.words}
    if not any(end in ends and ends[end].stems[-1] in people for _, end in match.parts):
        return False
    parts = sorted(match.parts)
    for number, (start, _) in enumerate(parts):
        index = starts.get(start)
        if index is None:
            continue
        word = prompt.words[index].readings[-1]
        before = prompt.words[index - 1].readings[-1] if index else ""
        if before in _BEING and _participle(word):
            return True
        if word.endswith("ing") and before not in _DETERMINERS and number < len(parts) - 1:
            following = prompt.text[parts[number][1]:parts[number + 1][0]]
            after = starts.get(parts[number + 1][0])
            if (not _PHRASE_END.search(following) and after is not None
                    and prompt.words[after].readings[-1] not in _AFTERMATH):
                return True
    return False


def story_contexts(guidelines: Guidelines) -> list:
    """The policy's news-story contexts: those that take harmful details out ("remove") across the whole prompt."""
    return [context for context in guidelines.contexts if context.effect == "remove" and context.scope == "prompt"]


def story_rules(guidelines: Guidelines) -> set[str]:
    """The rules whose harmful details a news story loses instead of being refused (story_contexts)."""
    return {rule for context in story_contexts(guidelines) for rule in context.rules}


def removable_rules(guidelines: Guidelines, prompt: Prompt) -> tuple[set[str], list[str]]:
    """The rules whose matches the prompt's "remove" contexts take out instead of refusing, and those contexts. A
    news heading (heading_end) counts as the news-story contexts' own words."""
    everywhere, _, acted, _ = _suspended(guidelines, prompt, effect="remove")
    if not acted and (heading_end(guidelines, prompt) or story_clause_ends(guidelines, prompt)
                      or closing_heading(guidelines, prompt)):
        everywhere |= story_rules(guidelines)
        acted += [context.id for context in story_contexts(guidelines)]
    return everywhere, acted


# The part of a news prompt that names its story ("Hero image for an article on the drone attacks on Kyiv:").
_FRAME_END = re.compile(r"[:.\n]|;(?=\s)|\s[-–—]+\s")
_FRAME_END_AFTER = re.compile(r"[:.,\n]|;(?=\s)|\s[-–—]+\s")
_SCENE_WORD = re.compile(r"[^\W\d_]{3,}")
# Words after a news term that make it a depiction rather than the name of a story
_DEPICTING = frozenset({"of", "showing", "depicting", "featuring", "with"})


def _depicts(prompt: Prompt, after: int) -> bool:
    """Whether the word at `after` (right after a news term) makes the term a depiction: "hero image of ..."."""
    return after < len(prompt.words) and prompt.text[prompt.words[after].start:prompt.words[after].end
                                                     ].lower() in _DEPICTING


def frame_end(guidelines: Guidelines, prompt: Prompt, headings: bool = True, start: int | None = None) -> int:
    """Where the framing of a news prompt ends (0 when the prompt has no "remove" context in its first clause, and
    no news heading, or `headings` is False): what it names is the story's topic, not something to depict. After
    a preamble (preamble_end), the framing or heading that follows it comes first."""
    if start is None:
        after = preamble_end(guidelines, prompt)
        return (after and frame_end(guidelines, prompt, headings, after)) or frame_end(guidelines, prompt, headings, 0)
    # (after a preamble, a comma ends the framing too: "... look. For our Kashmir tensions report, show ...")
    first = (_FRAME_END_AFTER if start else _FRAME_END).search(prompt.text, start)
    # A first clause that ends with a story's name frames the prompt, whatever ends it ("Hero shot for the North
    # Korea missile test story - ...")
    named = [at for at in story_clause_ends(guidelines, prompt)
             if start < at <= (first.start() if first else len(prompt.text))]
    if named and _SCENE_WORD.search(prompt.text, min(named)):
        return min(named)
    # A framing names a story and is followed by the scene to draw; a prompt that is all framing ("Hero image of
    # soldiers executing prisoners", with or without a full stop) has no story apart from its scene
    if not first or not _SCENE_WORD.search(prompt.text, first.end()):
        return heading_end(guidelines, prompt, start) if headings else 0
    end = first.start()
    for context in guidelines.contexts:
        if context.effect == "remove":
            for term in present(context.terms, prompt):
                for a, b in term_spans(term, prompt):
                    # "Hero image of soldiers executing prisoners: ..." depicts, it names no story
                    if start <= prompt.words[a].start < end and not _depicts(prompt, b):
                        return end
    return heading_end(guidelines, prompt, start) if headings else 0


# What ends a clause that names a story: punctuation, a spaced dash, or the end of the prompt
_STORY_CLAUSE_END = re.compile(r"\s*(?:[:.,;!?\n]|\s[-–—]+\s|$)")
_STORY_CLAUSE_START = re.compile(r"[:.,;!?\n]|\s[-–—]+\s")


def story_clause_ends(guidelines: Guidelines, prompt: Prompt) -> set[int]:
    """Where each clause that ends with a word of `[rewriting] story_endings` ends ("the North Korea missile test
    story - ...", "... - for the White House visit story."): such a clause names a news story, when it names one
    as a heading does (names_a_story: not "Execution Story: ..."). A negated one ("not a news story") names none."""
    ends = set()
    for first, last in spans_of(guidelines.story_endings, prompt):
        after = prompt.words[last - 1].end
        found = _STORY_CLAUSE_END.match(prompt.text, after)
        if not found:
            after, found = _story_qualified(prompt, last)
        if not found or negation(guidelines).covers(first, prompt.words, prompt.text):
            continue
        opening = max((edge.end() for edge in _STORY_CLAUSE_START.finditer(prompt.text, 0, prompt.words[first].start)),
                      default=0)
        if names_a_story(guidelines, prompt.text[opening:after]):
            ends.add(after if prompt.text[after:found.end()].strip() else found.end())
    return ends


# Words that open what a story's name says of it ("the mining economy story from the Kakamega gold fields: ...")
_STORY_QUALIFIERS = frozenset({"from", "on", "about", "in", "at", "over", "after"})
# What ends a story's name with its qualifier: a colon, a full stop, a line break or a spaced dash (not a comma)
_QUALIFIED_END = re.compile(r"[:.;](?=\s)|\n|\s[-–—]+\s|[:.]$")
# The most words a qualifier holds, its first among them
QUALIFIER_WORDS = 7


def _story_qualified(prompt: Prompt, after: int) -> tuple[int, re.Match | None]:
    """Where a story's name ends when a short qualifier follows its last word (the word before `after`): a word of
    _STORY_QUALIFIERS opening at most QUALIFIER_WORDS words, up to a colon, full stop, line break or spaced dash
    ("For the mining economy story from the Kakamega gold fields: ..."); with the match of that end (None when
    there is no such qualifier)."""
    found = prompt.words
    if after >= len(found) or prompt.text[found[after].start:found[after].end].lower() not in _STORY_QUALIFIERS:
        return 0, None
    end = _QUALIFIED_END.search(prompt.text, found[after].end)
    if not end or _STORY_CLAUSE_START.search(prompt.text, found[after].end, end.start()):
        return 0, None
    inside = list(takewhile(lambda word: word.end <= end.start(), found[after:]))
    if len(inside) > QUALIFIER_WORDS:
        return 0, None
    return inside[-1].end, _STORY_CLAUSE_END.match(prompt.text, inside[-1].end)


# Where a preamble ends: a colon or a full stop before a space, or a line break
_PREAMBLE_END = re.compile(r"[:.](?=\s)|\n")


def preamble_end(guidelines: Guidelines, prompt: Prompt) -> int:
    """Where a prompt's preamble ends, 0 when it has none: the first sentences that only say what kind of picture to
    make, each of their words (numbers aside) one of `[rewriting] preamble` ("Lead photo illustration, wire-photo
    look.", "Need a 16:9 header, editorial, no text.", "Podcast episode artwork: ...", an email's "Re: Fwd: ...")."""
    if not guidelines.preamble:
        return 0
    covered = {index for a, b in spans_of(guidelines.preamble, prompt) for index in range(a, b)}
    end = 0
    while first := _PREAMBLE_END.search(prompt.text, end):
        inside = [index for index, word in enumerate(prompt.words) if end <= word.start and word.end <= first.start()]
        lettered = [index for index in inside if any(c.isalpha() for c in prompt.text[prompt.words[index].start:
                                                                                       prompt.words[index].end])]
        if not lettered or not all(index in covered for index in lettered):
            return end
        end = first.end()
    return end


# What ends a news heading: a colon or a full stop before a space (not the weight in "(tanks:1.3)"), a line
# break, or a dash between spaces
_HEADING_END = re.compile(r"[:.;](?=\s)|\n| [-–—]+ ")
# A heading that names a kind of picture, or a look, describes the picture, not a story ("Trench photo: ...",
# "Frontline glamour shot: ...", "black site aesthetic: ...", and "Tattoo close-up: ...", found by _CLOSE_UP
# however it is written)
_PICTURE_WORDS = frozenset({"photo", "photograph", "picture", "pic", "image", "shot", "portrait",
                            "poster", "wallpaper", "painting", "drawing", "render", "illustration", "artwork", "art",
                            "scene", "snapshot", "frame", "still", "meme", "cartoon", "sketch", "photoshoot",
                            "aesthetic", "aesthetics", "vibe", "vibes", "energy", "mood", "moodboard", "pov"})
_CLOSE_UP = re.compile(r"close[- ]?up", re.I)
_NAME_HEADING_END = re.compile(r",(?=\s)")


def _named(word: str, index: int, known: bool = False) -> bool:
    """Whether a word of a heading is written as a name: capitalised after the first word, in capitals ("ECB"), with
    a capital inside ("Poland-Belarus"), or capitalised first and either `known` (one of the policy's `[rewriting]
    names`: "Valencia flood aftermath") or no English word ("Lockerbie memorial garden")."""
    letters = [c for c in word if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return True
    if index == 0 and word[:1].isupper() and (known or (len(letters) >= 4 and word.isalpha())):
        return known or word.lower() not in vocabulary().english
    return (index > 0 and word[:1].isupper()) or any(c.isupper() for c in word[1:])


def _counted(prompt: Prompt, words: list[Word], hyphenated: bool = False) -> int:
    """How many words a heading has, a possessive's "s" not counted ("Iran women's protest ..."), nor, where
    `hyphenated`, the second half of a hyphenated word ("so-called", "anti-war")."""
    return sum(1 for before, word in zip([None, *words], words) if prompt.text[word.start:word.end].lower() != "s"
               and not (hyphenated and before is not None and prompt.text[before.end:word.start] == "-"))


def _known_first(guidelines: Guidelines, prompt: Prompt, opening: int = 0) -> bool:
    """Whether the word at `opening` (the prompt's first unless given) opens one of the policy's `[rewriting]
    names`."""
    return any(first == opening for first, _ in spans_of(guidelines.names, prompt))


def _names_in(guidelines: Guidelines, prompt: Prompt, words: list[Word]) -> bool:
    """Whether one of `words` (a clause of `prompt`, in order) is written as a name (_named); its first word counts as
    one when it is one of the policy's `[rewriting] names`."""
    known = bool(words) and _known_first(guidelines, prompt, prompt.words.index(words[0]))
    return any(_named(prompt.text[word.start:word.end], index, known) for index, word in enumerate(words))


def heading_end(guidelines: Guidelines, prompt: Prompt, start: int | None = None) -> int:
    """Where a news heading ends, 0 when the prompt opens with none: a first clause of at most
    `[rewriting] heading_words` words, ended by a colon or a full stop before a space, a line break or a spaced
    dash, with a scene after it ("Detroit plant closures: factory gates chained, ...", "Ambassador expelled from
    Moscow - embassy gate in snow, ..."), or of at most `name_heading_words` words ended by a comma, with a name in
    it (_named: "Southern Lebanon border, ..."). Like a framing, it names the story. A heading in which a refusing rule
    matches (judged on the heading alone) is one only when it ends at a colon, full stop, line break or dash and
    names a place or a person outside the match ("Stabbing outside Leeds nightclub - ..."; not "Execution: ...").
    One that names a kind of picture (unless it names an event too: "Alaska summit cartoon: ..."), holds a negation
    or a bracket is none. A tag list's first items may be one (_tag_heading), and a first clause ended by a
    semicolon is one when it names something. After a preamble (preamble_end) the heading after it comes first;
    `start` reads one from there."""
    if not guidelines.heading_words:
        return 0
    if start is None:
        after = preamble_end(guidelines, prompt)
        return (after and heading_end(guidelines, prompt, after)) or heading_end(guidelines, prompt, 0)
    first = _HEADING_END.search(prompt.text, start)
    # A shorter first clause ended by a comma is a heading when it names something: "Southern Lebanon border, ...",
    # "ECB rate decision, ...", "Poland-Belarus border forest, ..."
    comma = _NAME_HEADING_END.search(prompt.text, start) if guidelines.name_heading_words else None
    if comma and (not first or comma.start() < first.start()):
        inside = [word for word in prompt.words if start <= word.start and word.end <= comma.start()]
        if not (1 <= _counted(prompt, inside) <= guidelines.name_heading_words and _names_in(guidelines, prompt,
                                                                                              inside)):
            # ... and so are a tag list's first items, when they name something ("protest, Caracas, opposition,
            # election fraud, ...")
            comma = _tag_heading(guidelines, prompt, start, first.start() if first else len(prompt.text))
        # A comma heading that names no story (a refusing rule matches in it) can be the first part of a longer
        # one, ended by a full stop or a colon: "Garissa University attack, 10 years. Classroom ..."
        return (comma and _heading(guidelines, prompt, start, comma, True)) or _heading(guidelines, prompt, start,
                                                                                        first, False)
    return _heading(guidelines, prompt, start, first, False)


def _heading(guidelines: Guidelines, prompt: Prompt, start: int, first: re.Match | None, comma: bool) -> int:
    """heading_end() for the first clause from `start` to `first` (a match of _HEADING_END, or of
    _NAME_HEADING_END where `comma`), 0 when that clause is no heading."""
    if not first or not _SCENE_WORD.search(prompt.text, first.end()):
        return 0
    end = first.start()
    inside = [word for word in prompt.words if start <= word.start and word.end <= end]
    # ... and it is written in words: "A I R - S T R I K E on ..." is a word split into letters, not a heading
    if not 1 <= _counted(prompt, inside, not comma) <= guidelines.heading_words or re.search(
            r"[(\[{<]", prompt.text[start:end]) or (
            not any(_SCENE_WORD.search(prompt.text, word.start, word.end) for word in inside)):
        return 0
    # ... unless it names an event too (`[rewriting] subjects`: "Iran nuclear talks illustration: ...", "Bolsonaro
    # coup trial cartoon: ...")
    pictured = any(set(word.readings) & _PICTURE_WORDS for word in inside)
    if _CLOSE_UP.search(prompt.text, start, end) or (pictured and not any(
            start <= prompt.words[first].start and prompt.words[first].end <= end
            for first, _ in spans_of(guidelines.subjects, prompt))):
        return 0
    # "No Nazi stuff. Well, just ..." and "not a real execution, only a mock one: ..." open with a negation trick
    said = tuple(inside)
    if any(negation(guidelines)._ends_negation(last, said) for last in range(len(said))):
        return 0
    # A first clause ended by a semicolon is a heading when it names something, as one ended by a comma
    # ("Hungary election campaign rally in Budapest; depict ..."; not "diplomats negotiate a ceasefire; ...")
    if first.group().startswith(";") and not _names_in(guidelines, prompt, inside):
        return 0
    return end if names_a_story(guidelines, prompt.text[start:end], comma) else 0


# What opens a closing heading: a colon or a spaced dash
_CLOSING_HEADING = re.compile(r":(?=\s)|\s[-–—]+\s")


def closing_heading(guidelines: Guidelines, prompt: Prompt) -> bool:
    """Whether the prompt ends with a news heading after its scene ("Bloated corpses washed up along the shore, ...:
    Derna dam collapse, one year on."): a last clause after a colon or a spaced dash, of at most `heading_words`
    words, that names something (_names_in) and names a story as a heading does (names_a_story)."""
    if not guidelines.heading_words:
        return False
    found = None
    for found in _CLOSING_HEADING.finditer(prompt.text):
        pass
    if found is None or not _SCENE_WORD.search(prompt.text, 0, found.start()):
        return False
    inside = [word for word in prompt.words if word.start >= found.end()]
    text = prompt.text[found.end():].strip().rstrip(".!")
    return 1 <= _counted(prompt, inside) <= guidelines.heading_words and _names_in(guidelines, prompt, inside) and (
        names_a_story(guidelines, text)) and not re.search(r"[(\[{<]", text)


def _tag_heading(guidelines: Guidelines, prompt: Prompt, start: int, limit: int) -> re.Match | None:
    """The comma after the first items of a tag list (at least three commas before `limit`, each item of at most
    `name_heading_words` words, `heading_words` in all) that name something (_names_in) and no harm
    (names_a_story): the list's heading. None when there is none."""
    commas = [comma for comma in _NAME_HEADING_END.finditer(prompt.text, start, limit)]
    if len(commas) < 3:
        return None
    found, previous = None, start
    for comma in commas:
        item = [word for word in prompt.words if previous <= word.start and word.end <= comma.start()]
        inside = [word for word in prompt.words if start <= word.start and word.end <= comma.start()]
        if not 1 <= _counted(prompt, item) <= guidelines.name_heading_words or _counted(
                prompt, inside) > guidelines.heading_words or not names_a_story(
                guidelines, prompt.text[start:comma.start()], True):
            break
        if _names_in(guidelines, prompt, inside):
            found = comma
        previous = comma.end()
    return found


def names_a_story(guidelines: Guidelines, text: str, comma: bool = False) -> bool:
    """Whether a heading, or a clause ending with a story's name, names a story: it does when no refusing rule
    matches in it (judged on `text` alone), or when it also names a place or a person outside the match's words
    ("Stabbing outside Leeds nightclub - ...", "Cartel killings in Sinaloa: ..."; the words a `near` match pairs:
    "Machete attack in Merthyr town centre"), unless it ends at a comma (a
    shorter heading). One that names nothing ("Execution: ...", "Execution Story: ...") is none."""
    key = (guidelines.digest or str(id(guidelines)), text, comma)
    if key not in _HEADINGS:
        if len(_HEADINGS) > 1024:
            _HEADINGS.clear()
        heading = analyse(guidelines, text)
        refused = [match for match in find_matches(guidelines, heading, photorealistic_style=False)
                   if match.rule.action == "block"]
        known = _known_first(guidelines, heading)
        _HEADINGS[key] = not refused or (not comma and any(
            _named(heading.text[word.start:word.end], index, known) and heading.text[word.start:word.end].lower()
            not in _TITLE_WORDS and not any(start < word.end and word.start < end for match in refused
                                             for start, end in match.spans)
            for index, word in enumerate(heading.words)))
    return _HEADINGS[key]


_HEADINGS: dict[tuple[str, str, bool], bool] = {}  # whether a heading names a story, by policy, text and ending
# Words a heading in title case capitalises that name no place or person ("Execution Story: ...")
_TITLE_WORDS = frozenset({"story", "stories", "report", "piece", "feature", "update", "news", "special", "live",
                          "breaking", "exclusive", "analysis", "explainer", "opinion", "the", "a", "an", "of", "in",
                          "on", "at", "and", "for", "to", "day", "anniversary", "case", "trial", "verdict", "hero"})


def framed(guidelines: Guidelines, prompt: Prompt) -> Prompt:
    """`prompt` with a news story's framing as a sentence of its own: a context word in the framing ("the concert
    hall attack", "the war crimes trial") names the story and does not excuse the scene described after it, and
    a `near` rule does not pair a word of the framing with one of the scene."""
    end = frame_end(guidelines, prompt)
    if not end:
        return prompt
    sentences = tuple(number + (1 if word.start >= end else 0) for number, word in zip(prompt.sentences, prompt.words))
    return replace(prompt, sentences=sentences)
