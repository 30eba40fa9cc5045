"""The guidelines policy: read a TOML file into checked, immutable data, or say which file, line and key is wrong."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from pipeline.errors import InputError, unknown_name
from pipeline.inputs import read_input
from pipeline.options import SAFETY_STRENGTHS
from pipeline.guidelines.normalise import base, phrase_words
from pipeline.output.files import bytes_sha256

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ACTIONS = ("block", "rewrite")
PROMPT_FIELD = "{prompt}"
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")

_TOP_KEYS = {"guidelines", "always", "guidance", "image_checks", "styles", "rules", "contexts", "emoji", "rewriting", "groups",
             "classifier", "meaning"}
_GUIDELINES_KEYS = {"version", "default_style", "photorealistic_terms", "negations", "language", "max_prompt_chars"}
_CONTEXT_KEYS = {"id", "rationale", "terms", "exact", "unless", "rules", "scope", "effect", "acts"}
EFFECTS = ("suspend", "remove")
_REWRITING_KEYS = {"absorb", "keep", "keep_people", "topic_rules", "named_rules", "proper_name_rules", "subjects",
                   "heading_words", "name_heading_words", "names", "glorifying", "preamble",
                   "story_endings", "institutions", "news_scenes"}
SCOPES = ("prompt", "sentence", "near")
_ALWAYS_KEYS = {"id", "rationale", "negative_prompt"}
_GUIDANCE_KEYS = {"safety_concept", "strength"}
_IMAGE_CHECK_KEYS = {"concepts", "neutral", "threshold"}
_STYLE_KEYS = {"description", "template", "negative_prompt", "photorealistic"}
_RULE_KEYS = {
    "id", "action", "category", "rationale", "terms", "exact", "unless", "unless_exact", "near", "replacement",
    "plural",
    "photorealistic_only", "restyle",
}
_NEAR_KEYS = {"window", "first", "second", "third", "ordered"}
SENTENCE = "sentence"


@dataclass(frozen=True)
class Style:
    """A preset: a template that puts the subject first, a negative prompt, and whether it looks photographic."""

    name: str
    description: str
    template: str
    negative_prompt: str
    photorealistic: bool


@dataclass(frozen=True)
class Term:
    """One phrase of a rule: its canonical words, and their inflectional bases when inflections count."""

    text: str
    words: tuple[str, ...]
    inflected: bool

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """What matching compares: the words' inflectional bases, or the words as written (computed once)."""
        return tuple(base(word) for word in self.words) if self.inflected else self.words


@dataclass(frozen=True)
class Near:
    """Groups of words that together make a match: a word of each group, the first two at most `window` words
    apart (0: anywhere in the same sentence), and a word of `third` (when given) in that sentence too; with
    `ordered`, the word of `first` comes before that of `second`."""

    window: int
    first: tuple[Term, ...]
    second: tuple[Term, ...]
    third: tuple[Term, ...] = ()
    ordered: bool = False


@dataclass(frozen=True)
class Context:
    """Words that change what others mean ("vigil for the victims of the massacre"): where they occur (in the
    same sentence, or anywhere in the prompt), the `rules` named do not act (effect "suspend"), or what they
    match is taken out of the prompt instead of refusing it (effect "remove": a news story's harmful detail)."""

    id: str
    rationale: str
    terms: tuple[Term, ...]
    rules: tuple[str, ...]
    scope: str
    effect: str = "suspend"
    # Whether it excuses an act shown being done to people ("police beating an old woman at the vigil"): a
    # vigil names a tragedy without showing it, and lends no words to one shown
    acts: bool = True
    # Phrases in which a term is no context word ("the food court" is no court of law)
    unless: tuple[Term, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    action: str
    rationale: str
    terms: tuple[Term, ...] = ()
    near: Near | None = None
    unless: tuple[Term, ...] = ()
    replacement: str | None = None
    plural: str | None = None
    photorealistic_only: bool = False
    category: str = ""
    restyle: str | None = None  # photorealistic_only rules: the style drawn in when only the style was photographic


@dataclass(frozen=True)
class Guidelines:
    """A checked policy: styles, rules, the negative prompt every image gets, and concepts for image checks."""

    version: str
    source: str
    digest: str
    default_style: str
    styles: dict[str, Style]
    rules: tuple[Rule, ...]
    always_id: str
    always_rationale: str
    always_negative: str
    photorealistic_terms: tuple[Term, ...]
    negations: tuple[tuple[str, ...], ...]
    safety_concept: str
    safety_strength: str
    image_concepts: tuple[str, ...] = field(default_factory=tuple)
    image_neutral: tuple[str, ...] = field(default_factory=tuple)
    image_threshold: float = 0.5
    contexts: tuple[Context, ...] = ()
    emoji: dict[str, str] = field(default_factory=dict)
    absorb: tuple[Term, ...] = ()
    keep: tuple[Term, ...] = ()
    keep_people: tuple[Term, ...] = ()
    names: tuple[Term, ...] = ()
    glorifying: tuple[Term, ...] = ()
    preamble: tuple[Term, ...] = ()
    story_endings: tuple[Term, ...] = ()
    news_scenes: tuple[Term, ...] = ()
    topic_rules: tuple[str, ...] = ()
    named_rules: tuple[str, ...] = ()
    # rewrite rules whose words, capitalised next to another capitalised word, are part of a name and are kept
    proper_name_rules: tuple[str, ...] = ()
    subjects: tuple[Term, ...] = ()
    institutions: tuple[Term, ...] = ()
    heading_words: int = 0
    name_heading_words: int = 0
    language: str = ""
    max_prompt_chars: int = 4000
    classifier_threshold: float | None = None
    meaning_threshold: float | None = None
    meaning_rewritten_threshold: float | None = None
    meaning_clause_threshold: float | None = None
    meaning_heading_threshold: float | None = None  # `clauses` for the phrases after a news heading (None: `clauses`)
    meaning_support_threshold: float | None = None  # a phrase's score that a refusing sentence score needs (None: any)
    meaning_list_threshold: float | None = None  # `support` for a list of short items (None: `support`)
    # A refusing sentence score of a prompt the rules left alone also needs the classifier's score at `support_words`
    # or a phrase's at `support_phrases` (None: neither is needed)
    meaning_support_words: float | None = None
    meaning_support_phrases: float | None = None
    meaning_rewritten_agreed: float | None = None  # `rewritten` where the phrase head agrees at `rewritten_phrases`
    meaning_rewritten_phrases: float | None = None  # a phrase's score, without the rewritten words, that it needs
    meaning_overrule_threshold: float | None = None  # a sentence score under which the rules' refusal is overruled
    meaning_overrule_support: float | None = None  # ... when no phrase scores this or above (None: overrule is off)
    meaning_overrule_rewrites: bool = False  # the rules' rewrites are overruled the same way (outside a news story)
    meaning_unframed_threshold: float | None = None  # `clauses` for a prompt with no framing or heading (None: off)
    # `clauses` for the opening phrase of an unframed prompt without a word of `[rewriting] news_scenes` (None: such
    # a phrase is no news scene)
    meaning_lead_threshold: float | None = None
    # The mean of the classifier's, the sentence head's and the phrase head's scores (its highest phrase) at which a
    # prompt the rules left alone, or what is left of a rewritten one, is refused (None: off)
    meaning_combined_threshold: float | None = None

    def style(self, name: str | None) -> Style:
        """The named style (the default when None); an unknown name is bad input."""
        name = name or self.default_style
        if name not in self.styles:
            raise InputError(f"unknown style {name!r}; {unknown_name(name, list(self.styles), 'style')} (see `pipeline styles`)")
        return self.styles[name]


def default_path():
    """The policy shipped with the package (the same file as prompts/guidelines.toml in the repository)."""
    return resources.files("pipeline.guidelines") / "default.toml"


def load_guidelines(path: str | Path | None = None) -> Guidelines:
    """Read and check a guidelines file (the shipped default when `path` is None); the parsed policy is kept
    on disk per content (pipeline.guidelines.policy_cache)."""
    from pipeline.guidelines import policy_cache

    if path is None:
        return policy_cache.load(default_path().read_bytes(), "prompts/guidelines.toml (default)", parse_guidelines)
    path = Path(path)
    return policy_cache.load(read_input(path, "guidelines file"), str(path), parse_guidelines)


def parse_guidelines(data: bytes, source: str) -> Guidelines:
    """Check a policy's TOML text; every error names `source`, the line where it can be found, and the key."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: invalid TOML: {exc}") from None
    check = _Checker(source, text)
    check.keys(raw, _TOP_KEYS, "")
    check.groups = _groups(check, raw)
    head = check.table(raw, "guidelines", _GUIDELINES_KEYS)
    always = check.table(raw, "always", _ALWAYS_KEYS)
    guidance = check.table(raw, "guidance", _GUIDANCE_KEYS)
    image_checks = check.table(raw, "image_checks", _IMAGE_CHECK_KEYS, required=False)

    styles = _styles(check, raw)
    default_style = check.text(head, "default_style", "guidelines.default_style")
    if default_style not in styles:
        check.fail(f"guidelines.default_style {default_style!r} is not a style; styles: {', '.join(styles)}",
                   "default_style")
    strength = check.text(guidance, "strength", "guidance.strength")
    if strength not in SAFETY_STRENGTHS:
        check.fail(f"guidance.strength {strength!r} is not one of {', '.join(SAFETY_STRENGTHS)}", "strength")
    threshold = image_checks.get("threshold", 0.5)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 < threshold < 1:
        check.fail(f"image_checks.threshold has to be a number between 0 and 1 but is {threshold!r}", "threshold")
    always_id = check.text(always, "id", "always.id")
    rules = _rules(check, raw)
    rewriting = check.table(raw, "rewriting", _REWRITING_KEYS, required=False)
    (classifier_threshold,) = _thresholds(check, raw, "classifier", ("threshold",))
    (meaning_threshold, meaning_rewritten_threshold, meaning_clause_threshold, meaning_heading_threshold,
     meaning_support_threshold, meaning_list_threshold, meaning_rewritten_agreed, meaning_rewritten_phrases,
     meaning_overrule_threshold, meaning_overrule_support, meaning_support_words,
     meaning_support_phrases, meaning_unframed_threshold, meaning_combined_threshold,
     meaning_lead_threshold) = _thresholds(
        check, raw, "meaning", ("threshold", "rewritten", "clauses", "headings", "support", "lists",
                                "rewritten_agreed", "rewritten_phrases", "overrule", "overrule_phrases",
                                "support_words", "support_phrases", "unframed", "combined", "lead_scenes"),
        {"overrule_rewrites"})
    meaning_overrule_rewrites = raw.get("meaning", {}).get("overrule_rewrites", False)
    if not isinstance(meaning_overrule_rewrites, bool):
        check.fail(f"meaning.overrule_rewrites has to be true or false but is {meaning_overrule_rewrites!r}",
                   "overrule_rewrites")
    language = head.get("language", "")
    if not isinstance(language, str) or language not in ("", "en"):
        check.fail(f"guidelines.language has to be \"en\" (prompts must be English) or \"\" (any) but is {language!r}",
                   "language")
    limit = head.get("max_prompt_chars", 4000)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100_000:
        check.fail(f"guidelines.max_prompt_chars has to be a whole number from 1 to 100000 but is {limit!r}",
                   "max_prompt_chars")
    rewrite_ids = {rule.id for rule in rules if rule.action == "rewrite"}
    topic_rules, named_rules = rewriting.get("topic_rules", []), rewriting.get("named_rules", [])
    proper_name_rules = rewriting.get("proper_name_rules", [])
    for key, value in (("topic_rules", topic_rules), ("named_rules", named_rules),
                       ("proper_name_rules", proper_name_rules)):
        if not isinstance(value, list) or not all(isinstance(item, str) and item in rewrite_ids for item in value):
            check.fail(f"rewriting.{key} has to be a list of the ids of rewrite rules "
                       f"({', '.join(sorted(rewrite_ids))}) but is {value!r}", key)
    heading_words, name_heading_words = rewriting.get("heading_words", 0), rewriting.get("name_heading_words", 0)
    for key, value in (("heading_words", heading_words), ("name_heading_words", name_heading_words)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 30:
            check.fail(f"rewriting.{key} has to be a whole number from 0 (off) to 30 but is {value!r}", key)
    if always_id in {rule.id for rule in rules}:
        check.fail(f"always.id {always_id!r} is also a rule id; ids must be unique", f'id = "{always_id}"')
    return Guidelines(
        version=check.text(head, "version", "guidelines.version"),
        source=source,
        digest=bytes_sha256(data),
        default_style=default_style,
        styles=styles,
        rules=rules,
        always_id=always_id,
        always_rationale=check.text(always, "rationale", "always.rationale"),
        always_negative=check.text(always, "negative_prompt", "always.negative_prompt"),
        photorealistic_terms=check.terms(head, "photorealistic_terms", "guidelines.photorealistic_terms", True),
        negations=tuple(term.words for term in check.terms(head, "negations", "guidelines.negations", False)),
        safety_concept=check.text(guidance, "safety_concept", "guidance.safety_concept"),
        safety_strength=strength,
        image_concepts=tuple(term.text for term in check.terms(image_checks, "concepts", "image_checks.concepts",
                                                               False, required=False)),
        image_neutral=tuple(term.text for term in check.terms(image_checks, "neutral", "image_checks.neutral",
                                                              False, required=False)),
        image_threshold=float(threshold),
        contexts=_contexts(check, raw, {rule.id for rule in rules}),
        emoji=_emoji(check, raw),
        absorb=check.terms(rewriting, "absorb", "rewriting.absorb", False, required=False),
        keep=check.terms(rewriting, "keep", "rewriting.keep", True, required=False),
        keep_people=check.terms(rewriting, "keep_people", "rewriting.keep_people", True, required=False),
        names=check.terms(rewriting, "names", "rewriting.names", False, required=False),
        glorifying=check.terms(rewriting, "glorifying", "rewriting.glorifying", True, required=False),
        preamble=check.terms(rewriting, "preamble", "rewriting.preamble", False, required=False),
        story_endings=check.terms(rewriting, "story_endings", "rewriting.story_endings", False,
                                  required=False),
        news_scenes=check.terms(rewriting, "news_scenes", "rewriting.news_scenes", True, required=False),
        topic_rules=tuple(topic_rules),
        named_rules=tuple(named_rules),
        proper_name_rules=tuple(proper_name_rules),
        subjects=check.terms(rewriting, "subjects", "rewriting.subjects", True, required=False),
        institutions=check.terms(rewriting, "institutions", "rewriting.institutions", True, required=False),
        heading_words=heading_words,
        name_heading_words=name_heading_words,
        language=language,
        max_prompt_chars=limit,
        classifier_threshold=classifier_threshold,
        meaning_threshold=meaning_threshold,
        meaning_rewritten_threshold=meaning_rewritten_threshold,
        meaning_clause_threshold=meaning_clause_threshold,
        meaning_heading_threshold=meaning_heading_threshold,
        meaning_support_threshold=meaning_support_threshold,
        meaning_list_threshold=meaning_list_threshold,
        meaning_rewritten_agreed=meaning_rewritten_agreed,
        meaning_rewritten_phrases=meaning_rewritten_phrases,
        meaning_overrule_threshold=meaning_overrule_threshold,
        meaning_overrule_support=meaning_overrule_support,
        meaning_overrule_rewrites=meaning_overrule_rewrites,
        meaning_lead_threshold=meaning_lead_threshold,
        meaning_support_words=meaning_support_words,
        meaning_support_phrases=meaning_support_phrases,
        meaning_unframed_threshold=meaning_unframed_threshold,
        meaning_combined_threshold=meaning_combined_threshold,
    )


def _thresholds(check: _Checker, raw: dict, table: str, keys: tuple[str, ...], switches: set[str] = frozenset()
                ) -> tuple[float | None, ...]:
    """A learnt layer's thresholds (`[classifier] threshold`, `[meaning] threshold`, `rewritten`, `clauses`,
    `headings`, `support`, `lists`, `rewritten_agreed`, `rewritten_phrases`, `overrule`, `overrule_phrases`,
    `support_words`, `support_phrases`, `unframed` and `combined`),
    each a probability; None where the key (or the table) is absent: that part of the layer is off. The table may
    hold the `switches` too (read by the caller)."""
    learned = check.table(raw, table, set(keys) | set(switches), required=False)
    found = []
    for key in keys:
        threshold = learned.get(key)
        if threshold is not None and (not isinstance(threshold, (int, float)) or isinstance(threshold, bool)
                                      or not 0 < threshold < 1):
            check.fail(f"{table}.{key} has to be a number between 0 and 1 but is {threshold!r}", f"[{table}]")
        found.append(None if threshold is None else float(threshold))
    return tuple(found)


def _styles(check: _Checker, raw: dict) -> dict[str, Style]:
    table = check.table(raw, "styles", None)
    if not table:
        check.fail("[styles] has no style; add at least one [styles.NAME] table", "[styles")
    styles = {}
    for name, entry in table.items():
        where = f"styles.{name}"
        if not isinstance(entry, dict):
            check.fail(f"{where} has to be a table", where)
        if not _ID.fullmatch(name):
            check.fail(f"style name {name!r} may use only lower-case letters, digits and '-'", f"[{where}]")
        check.keys(entry, _STYLE_KEYS, where)
        template = check.text(entry, "template", f"{where}.template", anchor=f"[{where}]")
        if not template.startswith(PROMPT_FIELD) or template.count(PROMPT_FIELD) != 1:
            check.fail(f"{where}.template has to start with {PROMPT_FIELD} (the subject comes first) and "
                       f"contain it once, but is {template!r}", f"[{where}]")
        photorealistic = entry.get("photorealistic", False)
        if not isinstance(photorealistic, bool):
            check.fail(f"{where}.photorealistic has to be true or false", f"[{where}]")
        styles[name] = Style(
            name=name,
            description=check.text(entry, "description", f"{where}.description", anchor=f"[{where}]"),
            template=template,
            negative_prompt=check.text(entry, "negative_prompt", f"{where}.negative_prompt", anchor=f"[{where}]",
                                       empty=True) if "negative_prompt" in entry else "",
            photorealistic=photorealistic,
        )
    return styles


def _rules(check: _Checker, raw: dict) -> tuple[Rule, ...]:
    entries = raw.get("rules", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        check.fail("rules has to be a list of [[rules]] tables", "[[rules]]")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        rule_id = entry.get("id")
        where = f"rules[{index}]" + (f" ({rule_id})" if isinstance(rule_id, str) else "")
        anchor = f'id = "{rule_id}"'
        if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
            check.fail(f"{where}.id has to be lower-case letters, digits and '-', but is {rule_id!r}", "[[rules]]")
        if rule_id in seen:
            check.fail(f"duplicate rule id {rule_id!r}", anchor, occurrence=2)
        seen.add(rule_id)
        check.keys(entry, _RULE_KEYS, where, anchor=anchor)
        action = entry.get("action")
        if action not in ACTIONS:
            check.fail(f"{where}.action {action!r} is unknown; use one of {', '.join(ACTIONS)}", anchor)
        terms = check.terms(entry, "terms", f"{where}.terms", True, required=False, anchor=anchor)
        terms += check.terms(entry, "exact", f"{where}.exact", False, required=False, anchor=anchor)
        near = _near(check, entry, where, anchor)
        unless = _innocent(check, entry, where, anchor)
        unless += check.terms(entry, "unless_exact", f"{where}.unless_exact", False, required=False, anchor=anchor)
        if not terms and near is None:
            check.fail(f"{where} matches nothing; give terms, exact or near", anchor)
        replacement = entry.get("replacement")
        plural = entry.get("plural")
        if action == "rewrite":
            replacement = check.text(entry, "replacement", f"{where}.replacement", anchor=anchor)
            if near is not None:
                check.fail(f"{where}: a rewrite rule replaces its terms; `near` is only for block rules", anchor)
            if not terms:
                check.fail(f"{where}: a rewrite rule needs terms or exact to replace", anchor)
        elif replacement is not None or plural is not None:
            check.fail(f"{where}: a block rule has no replacement or plural", anchor)
        if plural is not None:
            plural = check.text(entry, "plural", f"{where}.plural", anchor=anchor)
        photo_only = entry.get("photorealistic_only", False)
        if not isinstance(photo_only, bool):
            check.fail(f"{where}.photorealistic_only has to be true or false", anchor)
        category = entry.get("category", "")
        if not isinstance(category, str):
            check.fail(f"{where}.category has to be a string", anchor)
        restyle = entry.get("restyle")
        if restyle is not None:
            styles = raw.get("styles", {})
            if not photo_only or action != "block":
                check.fail(f"{where}.restyle is for block rules with photorealistic_only = true", anchor)
            if not isinstance(restyle, str) or restyle not in styles or styles[restyle].get("photorealistic", False):
                check.fail(f"{where}.restyle has to name a style that is not photorealistic, but is {restyle!r}", anchor)
        rules.append(Rule(rule_id, action, check.text(entry, "rationale", f"{where}.rationale", anchor=anchor),
                          terms, near, unless, replacement, plural, photo_only, category, restyle))
    return tuple(rules)


def _contexts(check: _Checker, raw: dict, rule_ids: set[str]) -> tuple[Context, ...]:
    entries = raw.get("contexts", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        check.fail("contexts has to be a list of [[contexts]] tables", "[[contexts]]")
    contexts = []
    for index, entry in enumerate(entries):
        context_id = entry.get("id")
        where = f"contexts[{index}]" + (f" ({context_id})" if isinstance(context_id, str) else "")
        anchor = f'id = "{context_id}"'
        if not isinstance(context_id, str) or not _ID.fullmatch(context_id):
            check.fail(f"{where}.id has to be lower-case letters, digits and '-', but is {context_id!r}",
                       "[[contexts]]")
        check.keys(entry, _CONTEXT_KEYS, where, anchor=anchor)
        terms = check.terms(entry, "terms", f"{where}.terms", True, required=False, anchor=anchor)
        # One-word context terms are spellings, not stems: "charges" must not read "charging" as a court.
        terms = tuple(Term(term.text, term.words, False) if len(term.words) == 1 else term for term in terms)
        terms += check.terms(entry, "exact", f"{where}.exact", False, required=False, anchor=anchor)
        if not terms:
            check.fail(f"{where} has no terms", anchor)
        named = entry.get("rules")
        if not isinstance(named, list) or not named or not all(isinstance(item, str) for item in named):
            check.fail(f"{where}.rules has to be a non-empty list of rule ids", anchor)
        for rule_id in named:
            if rule_id not in rule_ids:
                check.fail(f"{where}.rules names {rule_id!r}, which is not a rule id", anchor)
        scope = entry.get("scope", "prompt")
        if scope not in SCOPES:
            check.fail(f"{where}.scope has to be one of {', '.join(SCOPES)} but is {scope!r}", anchor)
        effect = entry.get("effect", "suspend")
        if effect not in EFFECTS:
            check.fail(f"{where}.effect has to be one of {', '.join(EFFECTS)} but is {effect!r}", anchor)
        acts = entry.get("acts", True)
        if not isinstance(acts, bool):
            check.fail(f"{where}.acts has to be true or false but is {acts!r}", anchor)
        unless = _innocent(check, entry, where, anchor)
        contexts.append(Context(context_id, check.text(entry, "rationale", f"{where}.rationale", anchor=anchor),
                                terms, tuple(named), scope, effect, acts, unless))
    return tuple(contexts)


def _innocent(check: _Checker, entry: dict, where: str, anchor: str) -> tuple[Term, ...]:
    """A rule's or a context's `unless` phrases. A one-word innocent phrase is a spelling, not a stem: "tanked"
    must not excuse every "tank"."""
    unless = check.terms(entry, "unless", f"{where}.unless", True, required=False, anchor=anchor)
    return tuple(Term(term.text, term.words, False) if len(term.words) == 1 else term for term in unless)


def _groups(check: _Checker, raw: dict) -> dict[str, list[str]]:
    """Named lists of words that terms can include as "@name" (people, places, ...)."""
    table = raw.get("groups", {})
    if not isinstance(table, dict):
        check.fail("groups has to be a table of name = [words]", "[groups]")
    for name, value in table.items():
        if not _ID.fullmatch(name) or not isinstance(value, list) or not value \
                or not all(isinstance(item, str) and not item.startswith("@") for item in value):
            check.fail(f"groups.{name} has to be a non-empty list of strings (no @names), named with lower-case "
                       f"letters, digits and '-'", name)
    return table


def _emoji(check: _Checker, raw: dict) -> dict[str, str]:
    table = raw.get("emoji", {})
    if not isinstance(table, dict):
        check.fail("emoji has to be a table of short name = \"words\"", "[emoji]")
    for name, value in table.items():
        if not isinstance(value, str) or not phrase_words(value):
            check.fail(f"emoji.{name} has to be a string of words but is {value!r}", name)
    return {name: value for name, value in table.items()}


def _near(check: _Checker, entry: dict, where: str, anchor: str) -> Near | None:
    near = entry.get("near")
    if near is None:
        return None
    if not isinstance(near, dict):
        check.fail(f"{where}.near has to be a table with window, first and second", anchor)
    check.keys(near, _NEAR_KEYS, f"{where}.near", anchor=anchor)
    window = near.get("window")
    if window == SENTENCE:
        window = 0
    elif not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 20:
        check.fail(f"{where}.near.window has to be a whole number from 1 to 20 or \"sentence\" but is {window!r}",
                   anchor)
    first = check.terms(near, "first", f"{where}.near.first", True, anchor=anchor)
    second = check.terms(near, "second", f"{where}.near.second", True, anchor=anchor)
    third = check.terms(near, "third", f"{where}.near.third", True, required=False, anchor=anchor)
    ordered = near.get("ordered", False)
    if not isinstance(ordered, bool):
        check.fail(f"{where}.near.ordered has to be true or false but is {ordered!r}", anchor)
    return Near(window, first, second, third, ordered)


class _Checker:
    """Type checks that fail with the file, the line of the nearest anchor text, and the key."""

    def __init__(self, source: str, text: str):
        self.source = source
        self.lines = text.splitlines()
        self.groups: dict[str, list[str]] = {}

    def line_of(self, anchor: str, occurrence: int = 1) -> int | None:
        seen = 0
        for number, line in enumerate(self.lines, 1):
            if anchor in line.replace("'", '"'):
                seen += 1
                if seen == occurrence:
                    return number
        return None

    def fail(self, message: str, anchor: str, occurrence: int = 1):
        line = self.line_of(anchor, occurrence)
        where = f"{self.source}, line {line}" if line else self.source
        raise InputError(f"{where}: {message}")

    def keys(self, table: dict, allowed: set[str], where: str, anchor: str | None = None) -> None:
        for key in table:
            if key not in allowed:
                name = f"{where}.{key}" if where else key
                self.fail(f"unknown key {name!r}; known keys: {', '.join(sorted(allowed))}", anchor or key)

    def table(self, raw: dict, key: str, allowed: set[str] | None, required: bool = True) -> dict:
        value = raw.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.fail(f"missing table [{key}]" if value is None else f"{key} has to be a table [{key}]", f"[{key}")
        if allowed is not None:
            self.keys(value, allowed, key, anchor=f"[{key}]")
        return value

    def text(self, table: dict, key: str, name: str, anchor: str | None = None, empty: bool = False) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not (empty or value.strip()):
            problem = "is missing" if value is None else f"has to be a non-empty string but is {value!r}"
            self.fail(f"{name} {problem}", anchor or key)
        return value.strip()

    def terms(self, table: dict, key: str, name: str, inflected: bool, required: bool = True,
              anchor: str | None = None) -> tuple[Term, ...]:
        value = table.get(key)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not value:
            self.fail(f"{name} has to be a non-empty list of strings", anchor or key)
        terms = []
        expanded = []
        for item in value:
            if isinstance(item, str) and item.startswith("@"):
                if item[1:] not in self.groups:
                    self.fail(f"{name} names the group {item!r}, which [groups] does not define", anchor or key)
                expanded.extend(self.groups[item[1:]])
            else:
                expanded.append(item)
        for item in expanded:
            words = phrase_words(item) if isinstance(item, str) else ()
            if not words:
                self.fail(f"{name} has an entry with no words: {item!r}", anchor or key)
            terms.append(Term(item.strip(), words, inflected))
        return tuple(terms)
