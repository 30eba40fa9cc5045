"""The judge: apply a policy to one prompt and say what may be generated, and which rules acted."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from pipeline.errors import InputError
from pipeline.guidelines.language import identify
from pipeline.guidelines.matching import (Match, Prompt, analyse, excused, find_matches, frame_end, framed, heading_end,
                                          overlaps, present, removable_rules, photorealistic, rule_term_spans,
                                          shows_an_act, spans_of, story_rules, term_spans)
from pipeline.guidelines.policy import Guidelines, load_guidelines
from pipeline.guidelines.styles import apply_style, merge_negatives
from pipeline.guidelines.vocabulary import vocabulary

# The categories of a removed detail that no glorifying phrase dresses: a caricature or a humiliation of someone
_UNDRESSED = frozenset({"dehumanising", "humiliation"})
_ARTICLE_BEFORE = re.compile(r"\b(a|an)(\s+)$", re.IGNORECASE)
# A headline quoted in a framing ("Hero image, 'Kharkiv wakes to another night of glide bombs': ..."): an opening
# quote after no letter, a closing one before none (an apostrophe inside, "Korea's", is neither)
_QUOTED = re.compile(r"(?<!\w)['‘\"“](.{3,}?)['’\"”](?!\w)")
# Rule ids of the judge's own checks (not in the policy file).
LANGUAGE_RULE = "language-not-english"
RECHECK_RULE = "recheck"
CLASSIFIER_RULE = "classifier"
MEANING_RULE = "meaning"
GLORIFYING_RULE = "glorifying"


@dataclass(frozen=True)
class RuleAction:
    """One rule that acted: its id, its action, the text it matched as written, and what replaced it."""

    id: str
    action: str
    matched: str
    replacement: str | None = None
    category: str = ""


@dataclass(frozen=True)
class Judgement:
    """What the guidelines decided for one prompt; `prompt` is empty when the verdict is block."""

    verdict: str
    prompt: str
    negative_prompt: str
    style: str
    guidelines_version: str
    rules: tuple[RuleAction, ...] = field(default_factory=tuple)
    guidelines_digest: str = ""
    subject: str = ""
    vocabulary_digest: str = ""
    classifier_digest: str = ""
    classifier_score: float | None = None
    meaning_digest: str = ""
    encoder_digest: str = ""
    meaning_score: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> dict:
        """The judgement as `check-prompt --json` prints it."""
        return {
            "verdict": self.verdict,
            "style": self.style,
            "prompt": self.prompt,
            "subject": self.subject,
            "negative_prompt": self.negative_prompt,
            "rules": [
                {"id": rule.id, "action": rule.action, "category": rule.category, "matched": rule.matched,
                 **({"replacement": rule.replacement} if rule.action in ("rewrite", "restyle") else {})}
                for rule in self.rules
            ],
            "guidelines_version": self.guidelines_version,
            "guidelines_digest": self.guidelines_digest,
            "vocabulary_digest": self.vocabulary_digest,
            "classifier_digest": self.classifier_digest,
            "classifier_score": self.classifier_score,
            "meaning_digest": self.meaning_digest,
            "encoder_digest": self.encoder_digest,
            "meaning_score": self.meaning_score,
        }

    def refusal(self) -> str:
        """One line naming the rules that refused the prompt and what they matched."""
        blocks = [rule for rule in self.rules if rule.action == "block"]
        named = "; ".join(f"{rule.id} (matched {rule.matched!r})" for rule in blocks)
        return f"prompt refused by guideline {named} [guidelines {self.guidelines_version}]"


def judge(
    prompt: str,
    *,
    style: str | None = None,
    negative_prompt: str | None = None,
    guidelines: Guidelines | None = None,
    use_classifier: bool = True,
    use_meaning: bool = True,
) -> Judgement:
    """Judge `prompt` under `guidelines` (the shipped policy when None) and build the final prompts.

    1. check the prompt (not empty, within the policy's size) and its language;
    2. match the rules, with the prompt's contexts taken into account (a refusal for words alone, outside a news
       story, is overruled where the classifier and the meaning layer read the prompt and each of its phrases as
       harmless: `[meaning] overrule` and `overrule_phrases`; and so, where `overrule_rewrites`, is a rewrite of
       its armed people and weapons);
    3. block, or rewrite each matched phrase into the policy's symbolic vocabulary (a news story loses its harmful
       details instead: the clauses the rules refuse, and the phrases the meaning layer's phrase head reads as
       harmful where no rule acts, `[meaning] clauses`);
    4. judge the rewritten prompt again: anything harmful left is a block, never a half-neutralised prompt;
    5. a prompt in which the rules found nothing is refused when the policy's classifier scores it at its
       threshold or above (`use_classifier=False` leaves this step out, to measure the rules alone);
    6. and so is one whose meaning, read by a sentence encoder, the policy's meaning head scores at its
       threshold or above (`[meaning] threshold` for a prompt the rules left alone, `rewritten` for one they
       rewrote, judged as written less what a news story lost, or `rewritten_agreed` outside a news story where the
       phrase head agrees; `use_meaning=False` leaves this step out), or, left alone by the rules, where the mean
       of the classifier's, the sentence head's and the phrase head's scores reaches `[meaning] combined`;
    7. outside a news story, a phrase the phrase head is sure of (`[meaning] unframed`) is taken out of what the
       steps above let through;
    8. and what is left of a rewritten prompt is refused where the mean of its three readings reaches
       `[meaning] combined`.
    """
    policy = guidelines if guidelines is not None else load_guidelines()
    # 1. Check the input
    text = (prompt or "").strip()
    if not text:
        raise InputError("the prompt is empty")
    if len(text) > policy.max_prompt_chars:
        raise InputError(f"the prompt has {len(text)} characters; the guidelines allow at most "
                         f"{policy.max_prompt_chars} (guidelines.max_prompt_chars)")
    chosen = policy.style(style)
    common = dict(style=chosen.name, guidelines_version=policy.version, guidelines_digest=policy.digest,
                  vocabulary_digest=vocabulary().digest)
    if policy.language == "en":
        language = identify(text)
        if not language.english:
            refused = RuleAction(LANGUAGE_RULE, "block", language.evidence, None, "language")
            return Judgement("block", "", "", rules=(refused,), **common)
    # 2. Match the rules (the prompt is analysed once, and again only when the guidelines change its text)
    analysed = framed(policy, analyse(policy, text))
    matches = find_matches(policy, analysed, photorealistic_style=chosen.photorealistic)
    # A named real person in a photographic style is drawn in the rule's stand-in style (`restyle`) instead of
    # being refused
    restyled = _restyled(policy, analysed, chosen, matches)
    # ... and so is one whose own words ask for a photograph: those words are taken out (a prompt left with fewer
    # than MIN_CONTENT_WORDS words is a portrait of the person, refused: "Kim Jong-un, photorealistic")
    if not restyled:
        illustrated, acted = _illustrated(policy, analysed, matches)
        if acted and len(_CONTENT.findall(illustrated)) >= MIN_CONTENT_WORDS:
            text, analysed, restyled = illustrated, framed(policy, analyse(policy, illustrated)), acted
    if restyled:
        chosen = policy.style(restyled[0].replacement)
        common["style"] = chosen.name
        matches = find_matches(policy, analysed, photorealistic_style=False)
    blocks = [match for match in matches if match.rule.action == "block"]
    # A prompt the rules refuse for its words, outside a news story, is not refused for them when the meaning layer
    # reads it as harmless, whole and phrase by phrase ("startup team executing their go-to-market plan", "bloody
    # cranesbill flowering on the Burren"): the rules' refusal is overruled, and recorded as excused
    overruled: list[RuleAction] = []
    reads: dict[tuple[str, str], dict] = {}  # the learnt layers' scores by text: an overruled prompt is read once
    if blocks and use_meaning and not restyled:
        overruled, read = _overruled(policy, analysed, blocks, reads)
        common.update(read)
        if overruled:
            matches = [match for match in matches if match.rule.action != "block"]
            blocks = []
    # 3. Block; or, in a news story, take out the harmful detail; then rewrite
    removed: list[RuleAction] = []
    if blocks:
        removable, _ = removable_rules(policy, analysed)
        # A news scene that opens the prompt unframed keeps its opening phrase as a framing is kept (_lead_scene)
        lead = 0 if not use_meaning or all(match.rule.id in removable for match in blocks) else _lead_scene(
            policy, analysed, matches, reads)
        if lead:
            removable = story_rules(policy)
        # A clause taken out can leave another detail that a context it held had excused ("riot police clubbing a
        # girl" once "the crowd" is gone): the rest is judged again, and taken out the same way, up to
        # REMOVAL_PASSES times
        for _ in range(REMOVAL_PASSES):
            if not blocks or not all(match.rule.id in removable for match in blocks):
                break
            frame = frame_end(policy, analysed) or lead
            # What the framing names is the story's topic; what follows it is taken out, clause by clause. An act
            # of violence the framing names with armed people or weapons ("the story on tanks shelling a school")
            # is a depiction, and goes with its clause too
            armed = _framing_depictions(policy, analysed, matches, frame, removable)
            acts = [m for m in blocks if m.start < frame and _shares_clause(m, armed, text)]
            shown = _within_clauses([match for match in _story_matches(policy, analysed, chosen.photorealistic,
                                                                        removable, frame)
                                     if match.rule.action == "block"] + acts, text)
            claimed = rule_term_spans(policy, analysed)
            text, taken = remove_clauses(text, shown, 0 if acts else frame, _remnants(policy, analysed, claimed),
                                         _clause_people(policy, analysed, claimed),
                                         _bystanders(policy, analysed, claimed))
            removed += taken + [RuleAction(m.rule.id, "topic", m.matched, None, m.rule.category)
                        for m in blocks if m.start < frame and m not in acts]
            analysed = framed(policy, analyse(policy, text))
            # The framing's blocks name the topic; its rewrites are judged below, like the scene's
            matches = [match for match in _story_matches(policy, analysed, chosen.photorealistic, removable)
                       if match.rule.action == "block"] + [
                match for match in find_matches(policy, analysed, photorealistic_style=chosen.photorealistic)
                if match.rule.action == "rewrite"] if text else []
            blocks = [match for match in matches if match.rule.action == "block"]
        if blocks or len(_CONTENT.findall(text)) < MIN_CONTENT_WORDS:
            acted = [_action(match, None) for match in blocks] + removed + ([] if blocks else [_TOO_SHORT])
            acted += [_action(m, None) for m in matches if m.rule.action == "rewrite"]
            return Judgement("block", "", "", rules=tuple(restyled + acted), **common)
    # A news story whose scene lost a harmful detail (other than a caricature or a humiliation of someone), or whose
    # weapons and troops are rewritten, loses the phrases that glorify too (`[rewriting] glorifying`: "heroic golden
    # lighting", "sunrise glory"): they dressed the scene. (A caricature taken out of an election night leaves its
    # "victory speech".)
    if policy.glorifying and (any(action.category not in _UNDRESSED for action in removed)
                              or any(m.rule.category == "weapons-war" for m in matches)):
        text, taken = _remove_glorifying(policy, analysed)
        if taken:
            removed += taken
            if len(_CONTENT.findall(text)) < MIN_CONTENT_WORDS:
                return Judgement("block", "", "", rules=tuple(restyled + removed + [_TOO_SHORT]), **common)
            analysed, matches = _judged_again(policy, text, chosen)
    # In a news story, the phrases whose meaning is harmful are taken out too, whatever their words: those the rules
    # left as written and where no rule acts (what is left of a clause the rules took out was judged with it, and a
    # phrase whose troops or weapons the rules rewrite is judged again, as rewritten and as written)
    # (`story`: where a framing sentence ends; `frame`: that, or where a news heading ends)
    story = frame_end(policy, analysed, headings=False)
    frame = max(story, heading_end(policy, analysed))
    if use_meaning and policy.meaning_clause_threshold is not None and frame:
        given = prompt.strip()
        ruled = [part for match in matches for part in match.spans]
        readable = {_phrase_key(given[a:b]) for a, b in phrases(given)} - {
            _phrase_key(text[a:b]) for a, b in phrases(text) if overlaps((a, b), ruled)}
        # A heading is weaker evidence of a news story than a framing sentence ("Morning commute: ..." can dress a
        # harmful scene): the phrases after it are read at `[meaning] headings`, where the policy sets it
        limit = policy.meaning_clause_threshold
        if policy.meaning_heading_threshold is not None and not story:
            limit = policy.meaning_heading_threshold
        text, taken, read = _remove_harmful_phrases(policy, analysed, frame, readable, limit)
        if read:
            common.update(meaning_digest=read[0], encoder_digest=read[1])
        if taken:
            removed += taken
            if len(_CONTENT.findall(text)) < MIN_CONTENT_WORDS:
                return Judgement("block", "", "", rules=tuple(restyled + removed + [_TOO_SHORT]), **common)
            analysed, matches = _judged_again(policy, text, chosen)
    # A news story's framing names its topic ("the story on French troops leaving Mali", "the cost of the war in
    # Sudan"), which is kept as written: the scene after it says what to draw, and its armed people and weapons are
    # rewritten. (Rewriting the framing's too, "French chess pawns leaving Mali", lost the story's subject in every
    # such development prompt and spared no harm.) An act of violence the framing names went with its clause above.
    # A news heading ("Tanks and soldiers near Warsaw - ...") keeps only the abstract words of conflict
    # (`[rewriting] topic_rules`: "Russia-Ukraine war enters third winter - ...") and the troops it names after a
    # people or a group ("North Korean troops in Kursk: ..."); its other troops and weapons are rewritten like the
    # scene's. The topic reaches to the later of the framing's and the heading's ends (a preamble that frames can
    # come before a heading). Anywhere, weapons and troops named with an event or institution stay (`subjects` in
    # the topic, the narrower `institutions` elsewhere: "an army base closure")
    story = frame_end(policy, analysed, headings=False)
    frame = max(story, heading_end(policy, analysed))
    topical = removable_rules(policy, analysed)[0] if story else set()
    rewrites = _without_overlaps([match for match in matches if match.rule.action == "rewrite"
                                  and not (match.start < story and match.rule.id in topical)
                                  and not (match.start < frame and (match.rule.id in policy.topic_rules
                                                                    or _named_force(policy, analysed, match)))
                                  and not _names_event(policy, analysed, match, policy.subjects
                                                       if match.start < frame else policy.institutions)
                                  and not _in_a_name(policy, analysed, match)],
                                 text)
    # A prompt whose armed people or weapons the rules would rewrite keeps them as written where its refusal would
    # be overruled (`[meaning] overrule_rewrites`: outside a news story, the learnt layers read it and each of its
    # phrases as harmless): "Mother of a kidnapped soldier speaking at the Saturday rally", "Lebanese army deploying
    # south after the ceasefire, a checkpoint, civilians driving home"
    subject, acted = rewrite(text, rewrites)
    if rewrites and not removed and not restyled and use_meaning and policy.meaning_overrule_rewrites:
        # (the prompt is read with the phrases step 7 reads where the rewrite stands, in one pass of the encoder)
        kept, read = _overruled(policy, analysed, rewrites, reads, _unframed_phrases(policy, subject, frame))
        common.update(read)
        if kept:
            overruled, rewrites, subject, acted = overruled + kept, [], text, []
    acted = overruled + removed + acted
    written = analysed  # the prompt as written, less the phrases taken out: what step 6 reads
    # 4. Judge the result again
    if rewrites or removed:
        analysed = framed(policy, analyse(policy, subject))
        left = _story_matches(policy, analysed, chosen.photorealistic, removable_rules(policy, analysed)[0]
                              ) if frame else find_matches(policy, analysed, photorealistic_style=chosen.photorealistic)
        left = [match for match in left if not any(match.rule.id == action.id for action in overruled)]
        if left:
            acted += [RuleAction(RECHECK_RULE, "block", f"{m.matched} ({m.rule.id})", None, m.rule.category)
                      for m in left]
            return Judgement("block", "", "", rules=tuple(restyled + acted), **common)
    # 5. The classifier, for what the lists do not name (a prompt they rewrote was seen, and judged again)
    if use_classifier and policy.classifier_threshold is not None and not (rewrites or removed):
        common.update(_classifier_read(policy, analysed, reads))
        score = common["classifier_score"]
        if score >= policy.classifier_threshold:
            acted.append(RuleAction(CLASSIFIER_RULE, "block", f"score {score:.2f} >= {policy.classifier_threshold}",
                                    None, "classifier"))
            return Judgement("block", "", "", rules=tuple(restyled + acted), **common)
    # 6. The meaning layer, for harm said in words no list names ("left him lifeless on the pavement"): a prompt
    # the rules left alone is refused at the policy's `[meaning] threshold`; one they rewrote, when the prompt as
    # written reaches `rewritten` (swapping the words of a harmful scene leaves the scene), or, outside a news story
    # (whose sentence score is low, harm and all), `rewritten_agreed` where the phrase head finds harm in one of its
    # phrases without the words the rules rewrote, at `rewritten_phrases` or above ("a sol-dier with his leg
    # t-o-r-n o-f-f": the soldier drawn as a chess pawn, the leg still torn off). A negated term or a rule's
    # innocent phrase ("without any soldiers", "a bloody nose") excuses the prompt, as it does for the rules: the
    # score is recorded, with what excused it. The layer reads the prompt as written, less the phrases taken out of
    # a news story (they are not drawn). A prompt of fewer than MIN_CONTENT_WORDS words gives the encoder no
    # sentence to read ("../../CON")
    rewritten = bool(rewrites or removed)
    threshold = policy.meaning_rewritten_threshold if rewritten else policy.meaning_threshold
    agreed = policy.meaning_rewritten_agreed if rewritten and policy.meaning_rewritten_phrases is not None and not (
        removed or frame_end(policy, written)) else None
    bars = [bar for bar in (threshold, agreed) if bar is not None]
    # The phrases step 7 reads, read with the prompt, in one pass of the encoder
    unframed = _unframed_phrases(policy, subject, frame) if use_meaning else []
    if use_meaning and bars and len(_CONTENT.findall(text)) >= MIN_CONTENT_WORDS:
        common.update(_meaning_read(text, reads, unframed))
        score = common["meaning_score"]
        if score >= min(bars):
            reasons = excused(policy, written)
            if threshold is not None and score >= threshold:
                verdict = f"score {score:.3f} >= {threshold}"
                # The sentence head reads a whole prompt, and can be sure of one whose form it has not learnt
                # ("Tags: fraud, Post Office scandal, village shop, rain"): a prompt the rules left alone is refused
                # only where the phrase head finds harm in one of its phrases too, at `[meaning] support` or above;
                # in a list of short items ("Tags: Samoa, tsunami memorial, Lalomanu, 2009"), which is no sentence,
                # at `lists`
                support = None if reasons or rewritten else _phrase_support(policy, written)
                needed = policy.meaning_support_threshold
                if policy.meaning_list_threshold is not None and _a_list(text):
                    needed = policy.meaning_list_threshold
                if support is not None and support < needed:
                    reasons = [f"no phrase scores {needed} or above (highest {support:.3f})"]
                # ... and, where the policy asks for more, the classifier reads harm in its words or the phrase
                # head is sure of a phrase: the sentence head alone can be sure of a vivid harmless scene ("Tacos al
                # pastor carved off the trompo ..." scored 0.964, its words 0.003)
                elif support is not None and not _agreed(policy, words := common.get("classifier_score"), support):
                    reasons = [f"words score {words:.3f} < {policy.meaning_support_words} and no phrase scores "
                               f"{policy.meaning_support_phrases} or above (highest {support:.3f})"]
                refused = not reasons
            else:  # a rewritten prompt at `rewritten_agreed`: refused where a phrase reaches `rewritten_phrases`
                # without the words the rules rewrote (their harm is gone: "two T-90 tanks at the border")
                support = _highest_phrase_score(written, [part for match in rewrites for part in match.spans])
                verdict = (f"score {score:.3f} >= {agreed}, phrase score {support:.3f} >= "
                           f"{policy.meaning_rewritten_phrases}")
                refused = support >= policy.meaning_rewritten_phrases and not reasons
                if support < policy.meaning_rewritten_phrases:
                    reasons = []  # under the bar: nothing to excuse
            if refused:
                acted.append(RuleAction(MEANING_RULE, "block", verdict, None, "meaning"))
                return Judgement("block", "", "", rules=tuple(restyled + acted), **common)
            if reasons:
                acted.append(RuleAction(MEANING_RULE, "excused", f"{verdict}, excused by {', '.join(reasons)}", None,
                                        "meaning"))
        # ... and a prompt the rules left alone is refused where the three learnt readings together are fairly sure:
        # the mean of its words' score (the classifier), its sentence score and its highest phrase score reaches
        # `[meaning] combined` ("Haitian families on the beach pictured as something you'd call the exterminator
        # for": words 0.57, sentence 0.88, phrase 0.97). No one reading is sure enough alone, and harmless prompts
        # seldom have all three fairly high. The phrases are read only where the other two can reach the mean
        words = common.get("classifier_score")
        if not rewritten and words is not None and (refusal := _combined(policy, written, words, score)):
            return Judgement("block", "", "", rules=tuple(restyled + acted + [refusal]), **common)
    # 7. Outside a news story, a phrase the phrase head is sure of (`[meaning] unframed`) is taken out, like a news
    # story's harmful detail: a prompt of several phrases that the steps above let through can still carry one
    # harmful detail in words no list names (", and Jorge Glas being dragged by his hair across the floor"). The
    # phrase head can be as sure of a harmless phrase ("flexing his biceps in the mirror" 0.998), which then goes:
    # letting a rule's innocent phrase in the prompt ("guns out at the gym") stop this step cost more harmful
    # prompts than it saved harmless ones (docs/guidelines.md)
    # (a prompt whose phrases were all read with it, none at the bar, is not analysed again)
    if any(reads.get(("phrase", phrase), 1.0) >= policy.meaning_unframed_threshold for phrase in unframed):
        subject, taken, read = _remove_harmful_phrases(policy, _analysed(policy, subject, analysed), 0, None,
                                                       policy.meaning_unframed_threshold, reads)
        if read:
            common.update(meaning_digest=read[0], encoder_digest=read[1])
        if taken:
            acted += taken
            removed += taken
            if len(_CONTENT.findall(subject)) < MIN_CONTENT_WORDS:
                return Judgement("block", "", "", rules=tuple(restyled + acted + [_TOO_SHORT]), **common)
            # ... and what is left is judged again: a cut can join words into a refused term
            analysed, matches = _judged_again(policy, subject, chosen)
            left = [match for match in matches if match.rule.action == "block"]
            if left:
                return Judgement("block", "", "", rules=tuple(restyled + acted + [_action(m, None) for m in left]),
                                 **common)
    # 8. What is left of a prompt the steps above rewrote is read as a prompt the rules left alone is: refused where
    # the mean of its three learnt readings reaches `[meaning] combined` (a harmful scene whose named harm went, its
    # meaning still there). The encoder reads it only where its words' score can reach the mean with the other two
    combined = policy.meaning_combined_threshold
    if ((rewrites or removed) and use_classifier and use_meaning and combined is not None
            and policy.classifier_threshold is not None):
        final = _analysed(policy, subject, analysed)
        left = _classifier_read(policy, final, reads)
        if left["classifier_score"] >= 3 * combined - 2:
            left = {**left, **_meaning_read(subject, reads)}
            if refusal := _combined(policy, final, left["classifier_score"], left["meaning_score"], "what is left: "):
                common.update({key: value for key, value in left.items() if key.endswith("digest")})
                return Judgement("block", "", "", rules=tuple(restyled + acted + [refusal]), **common)
    acted.append(RuleAction(policy.always_id, "always", "", policy.always_negative))
    return Judgement(
        "rewrite" if rewrites or removed or restyled else "allow",
        apply_style(chosen, subject),
        merge_negatives(negative_prompt, chosen.negative_prompt, policy.always_negative),
        rules=tuple(restyled + acted),
        subject=subject,
        **common,
    )


def _analysed(policy: Guidelines, text: str, known: Prompt) -> Prompt:
    """`text` analysed and framed: `known` where that is `text` already (the steps above analysed what they left)."""
    return known if known.text == text else framed(policy, analyse(policy, text))


def _combined(policy: Guidelines, prompt: Prompt, words: float, sentence: float, what: str = "") -> RuleAction | None:
    """The meaning layer's refusal of the analysed `prompt` where the mean of its words' score (the classifier's),
    its sentence score and its highest phrase score reaches `[meaning] combined`; None where it does not, where the
    policy sets no `combined`, or where a negated term or a rule's innocent phrase excuses the prompt. The phrases
    are read only where the other two scores can reach the mean."""
    combined = policy.meaning_combined_threshold
    if combined is None or words + sentence < 3 * combined - 1 or excused(policy, prompt):
        return None
    phrase = _highest_phrase_score(prompt)
    mean = round((words + sentence + phrase) / 3, 4)
    if mean < combined:
        return None
    return RuleAction(MEANING_RULE, "block", f"{what}mean {mean:.3f} (words {words:.3f}, sentence {sentence:.3f}, "
                                             f"phrase {phrase:.3f}) >= {combined}", None, "meaning")


def _remove_harmful_phrases(policy: Guidelines, prompt: Prompt, frame: int, readable: set[str] | None, limit: float,
                            reads: dict | None = None) -> tuple[str, list[RuleAction], tuple[str, str]]:
    """A news prompt without the phrases after its framing (from punctuation to punctuation, from the start where
    `frame` is 0; those in `readable`, every one where it is None, and not negated) that the meaning layer's phrase
    head scores at `limit` or above ("the shooter mid-rampage in the hallway", "make him look like a pathetic
    clown"), each taken out like a rule's harmful detail
    (its places and names stay); with what was taken out, and the digests of the head and the encoder that read
    them (empty when nothing was read). A phrase's score kept in `reads` (_meaning_read) is not read again."""
    from pipeline.guidelines.meaning import meaning_head, phrase_scores, sentence_encoder

    text = prompt.text
    spans, taken, read = [], [], ()
    candidates = [(start, end, text[start:end].strip()) for start, end in phrases(text, frame + 1 if frame else 0)]
    candidates = [(start, end, written) for start, end, written in candidates
                  if (readable is None or _phrase_key(written) in readable) and not _negated(policy, written)]
    if not candidates:
        return text, taken, read
    known = reads or {}
    missing = [written for _, _, written in candidates if ("phrase", written) not in known]
    if missing:
        known = {**known, **{("phrase", written): one for written, one in zip(missing, phrase_scores(missing)[0])}}
    scores = [known["phrase", written] for _, _, written in candidates]
    read = (meaning_head().digest, sentence_encoder().digest)
    for (start, end, written), score in zip(candidates, scores):
        if score >= limit:
            spans.append((start, end))
            taken.append(RuleAction(MEANING_RULE, "remove", f"{written} (phrase score {score:.3f} >= "
                                    f"{limit})", "", "meaning"))
    if spans:
        text = _cut(text, spans, _leftovers(policy, prompt))
    return text, taken, read


def _phrase_key(phrase: str) -> str:
    """A phrase as written, without the joining word a cut's tidying takes off its front ("and burned passengers
    ..." is "burned passengers ..." once a clause before it is gone)."""
    return _JOINING_FRONT.sub("", phrase.strip())


def _unframed_phrases(policy: Guidelines, subject: str, frame: int) -> list[str]:
    """The phrases of `subject` that step 7 reads: those of a prompt with no framing or heading (`frame` 0), of
    UNFRAMED_PHRASES phrases or more, where the policy sets `[meaning] unframed`; none otherwise."""
    if policy.meaning_unframed_threshold is None or frame:
        return []
    found = [subject[a:b].strip() for a, b in phrases(subject)]
    return found if len(found) >= UNFRAMED_PHRASES else []


def _overruled(policy: Guidelines, prompt: Prompt, blocks: list[Match], reads: dict, later: list[str] = ()
               ) -> tuple[list[RuleAction], dict]:
    """The rules' refusals of `prompt` (`blocks`) overruled by the meaning layer, each recorded as excused, or none;
    with the scores read. A prompt is overruled when it has no news framing or heading (the sentence head scores
    news stories low, harm and all), it has MIN_OVERRULE_WORDS words or more, the classifier scores it under its
    threshold, the sentence head under `[meaning] overrule` and the phrase head every one of its phrases under
    `overrule_phrases`, and none of the refusals is an act of violence shown being done to people
    (shows_an_act). The phrases `later` (those a later step reads) are read with the prompt."""
    low, phrase_low = policy.meaning_overrule_threshold, policy.meaning_overrule_support
    if (low is None or phrase_low is None or frame_end(policy, prompt)
            or len(_CONTENT.findall(prompt.text)) < MIN_OVERRULE_WORDS):
        return [], {}
    # An act of violence shown being done to people is the harm itself, whatever the voice it is told in ("((player
    # strangling opponent))" at a chess olympiad)
    if shows_an_act(policy, prompt, blocks):
        return [], {}
    # Words the classifier too reads as harmful are not the rules' words alone (and the encoder is not loaded)
    read: dict = {}
    if policy.classifier_threshold is not None:
        read = dict(_classifier_read(policy, prompt, reads))
        if read["classifier_score"] >= policy.classifier_threshold:
            return [], read
    read.update(_meaning_read(prompt.text, reads, later))
    score = read["meaning_score"]
    if score >= low:
        return [], read
    highest = _highest_phrase_score(prompt)
    if highest >= phrase_low:
        return [], read
    because = f"overruled: sentence score {score:.3f} < {low}, no phrase scores {phrase_low} or above " \
              f"(highest {highest:.3f})"
    return [RuleAction(match.rule.id, "excused", f"{match.matched} ({because})", None, match.rule.category)
            for match in blocks], read


def _classifier_read(policy: Guidelines, prompt: Prompt, reads: dict) -> dict:
    """The shipped classifier's score of the analysed `prompt`, with its digest, as a Judgement records them (kept in
    `reads` by the prompt's text, and taken from there when that text was read before)."""
    if ("classifier", prompt.text) not in reads:
        from pipeline.guidelines.classifier import classifier

        model = classifier()
        reads["classifier", prompt.text] = dict(classifier_digest=model.digest,
                                                classifier_score=round(model.score(prompt, policy), 4))
    return reads["classifier", prompt.text]


def _meaning_read(text: str, reads: dict, later: list[str] | tuple[str, ...] = ()) -> dict:
    """The meaning head's score of `text`, with the head's and the encoder's digests, as a Judgement records them
    (kept in `reads` by the text, and taken from there when it was read before). The phrase head's scores of the
    phrases `later` (those a later step may read) are read in the same pass, and kept in `reads` too."""
    if ("meaning", text) not in reads:
        from pipeline.guidelines.meaning import meaning_scores

        score, scores, head, encoder = meaning_scores(text, list(later))
        reads.update({("phrase", phrase): one for phrase, one in zip(later, scores)})
        reads["meaning", text] = dict(meaning_digest=head.digest, encoder_digest=encoder.digest, meaning_score=score)
    return reads["meaning", text]


def _phrase_support(policy: Guidelines, prompt: Prompt) -> float | None:
    """The phrase head's highest score among the prompt's phrases (_highest_phrase_score); None when
    `[meaning] support` is off."""
    if policy.meaning_support_threshold is None:
        return None
    return _highest_phrase_score(prompt)


def _highest_phrase_score(prompt: Prompt, without: list[tuple[int, int]] = ()) -> float:
    """The phrase head's highest score among the prompt's phrases, each word as the rules read it ("s t a b b i n g"
    is "stabbing"), and the words within the spans `without` left out."""
    from pipeline.guidelines.meaning import phrase_scores

    text, end = "", 0
    for word in prompt.words:
        text += prompt.text[end:word.start] + ("" if overlaps((word.start, word.end), without) else word.readings[-1])
        end = word.end
    text += prompt.text[end:]
    written = [phrase for start, end in phrases(text) if (phrase := text[start:end].strip())]
    return max(phrase_scores(written)[0]) if written else 0.0


def _agreed(policy: Guidelines, words: float | None, phrase: float) -> bool:
    """Whether a refusing sentence score is borne out as `[meaning] support_words` and `support_phrases` ask: the
    classifier's score of the prompt (`words`) at `support_words`, or the phrase head's highest at `support_phrases`;
    True where the policy sets neither, or where the classifier did not read the prompt."""
    if policy.meaning_support_words is None or policy.meaning_support_phrases is None or words is None:
        return True
    return words >= policy.meaning_support_words or phrase >= policy.meaning_support_phrases


def _a_list(text: str) -> bool:
    """Whether `text` is a list of short items ("Tags: Samoa, tsunami memorial, Lalomanu, 2009, calm sea"): at
    least four phrases, most of them of at most three words."""
    lengths = sorted(len(_CONTENT.findall(text, a, b)) for a, b in phrases(text))
    return len(lengths) >= 4 and lengths[len(lengths) // 2] <= 3


def _judged_again(policy: Guidelines, text: str, chosen) -> tuple[Prompt, list[Match]]:
    """What is left of a news prompt after phrases were taken out, analysed, and the rules' matches in it."""
    analysed = framed(policy, analyse(policy, text))
    return analysed, find_matches(policy, analysed, photorealistic_style=chosen.photorealistic)


def _remove_glorifying(policy: Guidelines, prompt: Prompt) -> tuple[str, list[RuleAction]]:
    """A news prompt without the phrases after its framing (from punctuation to punctuation) that hold a word of
    `[rewriting] glorifying`, not negated; with what was taken out (nothing outside a news story)."""
    frame = frame_end(policy, prompt)
    if not frame:
        return prompt.text, []
    found = [(prompt.words[first].start, prompt.words[last - 1].end) for first, last in
             spans_of(policy.glorifying, prompt)]
    spans = [(start, end) for start, end in phrases(prompt.text, frame + 1)
             if overlaps((start, end), found) and not _negated(policy, prompt.text[start:end].strip())]
    if not spans:
        return prompt.text, []
    taken = [RuleAction(GLORIFYING_RULE, "remove", prompt.text[start:end].strip(), "", "weapons-war")
             for start, end in spans]
    return _cut(prompt.text, spans, _leftovers(policy, prompt)), taken


def _negated(policy: Guidelines, phrase: str) -> bool:
    """Whether a phrase opens with one of the policy's negations ("and not overtly militaristic", "no suffering
    shown"): it says what the picture must not hold."""
    words = re.findall(r"[^\W_]+", phrase.lower())
    while words and words[0] in ("and", "but", "or"):
        words.pop(0)
    return any(tuple(words[:len(negation)]) == negation for negation in policy.negations)


def phrases(text: str, start: int = 0) -> list[tuple[int, int]]:
    """The spans of `text` from `start` on between punctuation marks that hold a word: the pieces a news prompt's
    phrases are read in (and the phrase head is trained on)."""
    edges = list(_PHRASE_EDGE.finditer(text, start))
    starts = [start] + [edge.end() for edge in edges]
    ends = [edge.start() for edge in edges] + [len(text)]
    return [(a, b) for a, b in zip(starts, ends) if _CONTENT.search(text, a, b)]


def _restyled(policy: Guidelines, analysed, chosen, matches) -> list[RuleAction]:
    """The style change that photographic-only rules with a `restyle` ask for, when only the chosen style (not
    the prompt's words) made the prompt photographic and every such match has one: the stand-in style of the
    first, as an action that names what matched."""
    photo_only = [match for match in matches if match.rule.photorealistic_only]
    if not chosen.photorealistic or not photo_only or photorealistic(analysed, policy):
        return []
    if not all(match.rule.restyle for match in photo_only):
        return []
    names = ", ".join(dict.fromkeys(match.matched for match in photo_only))
    first = photo_only[0].rule
    return [RuleAction(first.id, "restyle", names, first.restyle, first.category)]


def _illustrated(policy: Guidelines, analysed: Prompt, matches: list[Match]) -> tuple[str, list[RuleAction]]:
    """The prompt without the words that ask for a photograph (`photorealistic_terms`), with the style change of
    its photographic-only rules, when every such match has a `restyle` and none matched a word the rule names
    itself ("deepfake of"): a picture of a named real person is an illustration of them, not a refusal. The
    prompt as it was, and no action, otherwise."""
    photo_only = [match for match in matches if match.rule.photorealistic_only]
    if not photo_only or not all(match.rule.restyle for match in photo_only):
        return analysed.text, []
    text = analysed.text
    spans = list(_disjoint([(analysed.words[first].start, analysed.words[last - 1].end)
                            for first, last in spans_of(policy.photorealistic_terms, analysed)]))
    # "a photo of Vladimir Putin at a podium" leaves "Vladimir Putin at a podium"
    spans = [((article.start() if (article := _ARTICLE.search(text, 0, start)) else start),
              (of.end() if (of := _OF.match(text, end)) else end)) for start, end in spans]
    if not spans or any(overlaps(span, [(m.start, m.end) for m in photo_only]) for span in spans):
        return analysed.text, []
    names = ", ".join(dict.fromkeys(match.matched for match in photo_only))
    words = ", ".join(dict.fromkeys(text[a:b].strip() for a, b in spans))
    first = photo_only[0].rule
    return _cut(text, spans, ()), [RuleAction(first.id, "restyle", f"{names} (taken out: {words})",
                                                       first.restyle, first.category)]


# The words that join clauses and phrases.
_JOINING = r"(?:and|with|while|whilst|as|where|showing|including|plus|but|then|amid|among|beside|behind|in front of)"
# Where a clause starts or ends: punctuation, a line break, or a joining word.
_CLAUSE_EDGE = re.compile(rf"[,;:.()\[\]!?\n]|(?<!drawn)(?<!shown)(?<!depicted)(?<!portrayed)(?<!painted)(?<!rendered)"
                          rf"\s{_JOINING}\s|\s[-–—]\s", re.IGNORECASE)
# Where a phrase starts or ends: punctuation or a line break only. A hate symbol takes its whole phrase with it ("a
# torchlit march with Nazi salutes" goes as a whole, not only "with Nazi salutes").
_PHRASE_EDGE = re.compile(r"[,;:.()\[\]!?\n]")
WHOLE_PHRASE_CATEGORIES = frozenset({"hate-symbols"})
_BELONGING = re.compile(r"\s(?:with|while|whilst|as)\s", re.IGNORECASE)
_SENTENCE_EDGE = re.compile(r"^[;:.()\[\]!?\n]$")
_CONTENT = re.compile(r"[^\W\d_]{3,}")
# A prompt left with fewer words than this after taking out a harmful detail has lost its subject: refused.
MIN_CONTENT_WORDS = 3
# A prompt of fewer words gives the encoder too little to overrule the rules with ("shells raining on a school"
# scores 0.006; no development prompt the layer overruled had fewer than six)
MIN_OVERRULE_WORDS = 6
# How many times the clauses of a news prompt's harmful details are taken out, each time from what is left
REMOVAL_PASSES = 3
# The words a news scene that opens a prompt without framing it needs (_lead_scene)
LEAD_SCENE_WORDS = 4
_LETTERED = re.compile(r"[^\W\d_][\w'’-]*")
# A prompt with more than this share of its words capitalised is in title case: its capitals name nothing
_TITLE_CASE_SHARE = 0.6
# The phrases a prompt with no framing or heading needs before `[meaning] unframed` reads them one by one (one phrase
# alone is the whole prompt, which the sentence head reads)
UNFRAMED_PHRASES = 2
_TOO_SHORT = RuleAction(RECHECK_RULE, "block", f"fewer than {MIN_CONTENT_WORDS} words left", None, "")


def remove_clauses(text: str, matches: list[Match], frame: int = 0, remnants: tuple[tuple[int, int], ...] = (),
                   people: tuple[tuple[int, int], ...] = (), bystanders: tuple[tuple[int, int], ...] = ()
                   ) -> tuple[str, list[RuleAction]]:
    """`text` without the clauses that hold the matches ("..., with corpses in the foreground, ..."), tidied;
    nothing before `frame` (the news story's own framing) is taken out. The `remnants` inside a removed clause
    (the places named beside the detail) stay in its place: "junta jets bombing a monastery" leaves "a
    monastery"; and so do the `people` it opens with (_clause_people: "the cartoonists slumped over their
    desks" leaves "the cartoonists"). A match that reaches from an act to a place, a name or a person of another
    clause (`bystanders`: the words of `[rewriting] keep_people`) takes out only the act's clause."""
    spans: list[tuple[int, int]] = []
    clause_edges = list(_CLAUSE_EDGE.finditer(text))
    phrase_edges = list(_PHRASE_EDGE.finditer(text))
    clause_starts = [edge.start() for edge in clause_edges]
    for whole, (part_start, part_end) in [(match.rule.category in WHOLE_PHRASE_CATEGORIES, part)
                                          for match in matches
                                          for part in _acting_parts(match, clause_starts, remnants + bystanders)
                                          if part[1] > frame]:
        edges = phrase_edges if whole else clause_edges
        before = [edge for edge in edges if edge.end() <= part_start]
        after = [edge for edge in edges if edge.start() >= part_end]
        left = before[-1] if before else None
        # What an act is done "with", and what goes on "while" or "as" it is done, belong to it: "the deposed
        # president kneeling with a rifle pressed to his neck", "Zelensky cowering while Trump and Vance laugh" go
        # as a whole
        while after and _BELONGING.fullmatch(after[0].group()):
            after.pop(0)
        right = after[0] if after else None
        if left is None or _SENTENCE_EDGE.match(left.group().strip(" \t") or " "):
            start = left.end() if left else 0
            end = right.end() if right and not _SENTENCE_EDGE.match(right.group().strip(" \t") or " ") else (
                right.start() if right else len(text))
        else:
            start, end = left.start(), right.start() if right else len(text)
        spans.append((max(start, frame), end))
    acted = [RuleAction(m.rule.id, "remove", m.matched, "", m.rule.category) for m in matches]
    return _cut(text, spans, _disjoint([*remnants, *people])), acted


def _acting_parts(match: Match, clause_starts: list[int], remnants: tuple[tuple[int, int], ...]
                  ) -> tuple[tuple[int, int], ...]:
    """The parts of `match` whose clauses go (`clause_starts`: where the text's clause edges start). A match that
    pairs words of different clauses ("exploding drones over apartment blocks, residents sheltering in a metro
    station") takes out the clause of its act, not that of a place or name it reached across to (a remnant), which
    stays whole."""
    parts = match.spans
    if len(parts) < 2:
        return parts
    if len({_clause_of(clause_starts, start) for start, _ in parts}) < 2:
        return parts
    acting = tuple(part for part in parts if not any(a <= part[0] and part[1] <= b for a, b in remnants))
    return acting or parts


# The words that join a phrase to the one before it: a cut that leaves one at a phrase's front takes it off
_JOINING_FRONT_WORDS = "and|with|while|whilst|as|plus|but|then"
_JOINING_FRONT = re.compile(r"^(?:" + _JOINING_FRONT_WORDS + r")\s+", re.IGNORECASE)


def _cut(text: str, spans: list[tuple[int, int]], remnants: tuple[tuple[int, int], ...]) -> str:
    """`text` without `spans`, tidied; the `remnants` inside a span stay in its place."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    kept, position = [], 0
    for start, end in merged:
        kept.append(text[position:start])
        left: list[str] = []
        previous = None
        for a, b in remnants:
            if start <= a and b <= end:
                # Neighbouring names stay one phrase, as written ("Gaza skyline", not "Gaza, skyline")
                if previous is not None and not text[previous:a].strip():
                    left[-1] += text[previous:b]
                else:
                    left.append(text[a:b])
                previous = b
        if left:
            # The edges around the cut stay with what it leaves: "Putin standing on a heap of skulls beside the
            # ballot boxes" leaves "Putin beside the ballot boxes"
            edge = _LEADING_EDGE.match(text, start).group()
            tail = _TRAILING_JOIN.search(text, start, end) or _TRAILING_EDGE.search(text[:end])
            # ... but not "as", which would make one name stand for another ("Kim Jong-un as Putin")
            edge = re.sub(r"\bas\s+$", ", ", edge, flags=re.IGNORECASE)
            # ... and a joining word the edge and the first remnant both hold is said once after a dash ("— and the
            # man"; after a comma the tidying below takes the first off)
            joined = re.search(rf"\b{_JOINING}\s+$", edge, flags=re.IGNORECASE)
            after_comma = joined and (text[:start] + edge[:joined.start()]).rstrip().endswith((",", ";", ":"))
            if joined and not after_comma and left[0].lower().startswith(joined.group().strip().lower() + " "):
                edge = edge[:joined.start()]
            kept.append(edge + ", ".join(left) + tail.group())
        position = end
    kept.append(text[position:])
    # The pieces either side of a cut are joined with a space after punctuation ("Tigray. Looming", not
    # "Tigray.Looming")
    pieces: list[str] = []
    for piece in kept:
        if pieces and pieces[-1].endswith((".", "!", "?", ";", ":", ",")) and piece[:1].isalnum():
            piece = " " + piece
        pieces.append(piece)
    # ... and a prompt written in lines keeps them (one line break where a cut leaves several, and no comma before it)
    tidy = _balanced(re.sub(r"\s+", lambda space: "\n" if "\n" in space.group() else " ", "".join(pieces)))
    tidy = re.sub(r"[ \t]*[,;:]?[ \t]*\n[ \t]*", "\n", tidy)
    tidy = re.sub(r"[ \t]+([,;:.!?])", r"\1", tidy)
    tidy = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", tidy)
    tidy = re.sub(r"[,;:]\s*([.!?])", r"\1", tidy)
    tidy = re.sub(r"[,;:]\s*([-–—]+\s)", r" \1", tidy)  # "Modi, Trump, - for the ... story": no comma before a dash
    tidy = re.sub(r"(\w[.!?])\s*\.(?=\s|$)", r"\1", tidy)  # a sentence taken out leaves no second full stop
    tidy = re.sub(r"(^|[,;:]\s*|\n)(?:" + _JOINING_FRONT_WORDS + r")\s+", r"\1", tidy, flags=re.IGNORECASE)
    return re.sub(r"^[\s,;:.]+|[\s,;:]+$", "", tidy)


def _clause_of(edges: list[int], position: int) -> int:
    return sum(1 for edge in edges if edge <= position)


def _within_clauses(matches: list[Match], text: str) -> list[Match]:
    """`matches` less those that pair words of different clauses where the same rule also matched inside one
    clause at one of those words: in "families fleeing across a river, a soldier shooting at them" the shooting
    is taken out with its clause, and the families stay."""
    edges = [edge.start() for edge in _CLAUSE_EDGE.finditer(text)]
    single = [match for match in matches
              if _clause_of(edges, match.start) == _clause_of(edges, max(match.start, match.end - 1))]
    kept = []
    for match in matches:
        parts = match.spans
        spread = len({_clause_of(edges, start) for start, _ in parts}) > 1
        explained = spread and any(other.rule.id == match.rule.id and other is not match
                                   and any(other.start < end and start < other.end for start, end in parts)
                                   for other in single)
        if not explained:
            kept.append(match)
    return kept


_LEADING_EDGE = re.compile(rf"[\s,;:.()\[\]!?–—-]*(?:{_JOINING}\s+)?", re.IGNORECASE)
_TRAILING_EDGE = re.compile(r"[\s,;:.!?]*$")
_TRAILING_JOIN = re.compile(rf"\s{_JOINING}\s+$|\s[-–—]\s+$", re.IGNORECASE)
_ARTICLE = re.compile(r"\b(?:a|an|the)\s+$", re.IGNORECASE)
_OF = re.compile(r"\s+of\b", re.IGNORECASE)


def _leftovers(policy: Guidelines, prompt: Prompt) -> tuple[tuple[int, int], ...]:
    """What a phrase taken out of `prompt` leaves in its place: its places and names (_remnants) and the people it
    opens with (_clause_people)."""
    claimed = rule_term_spans(policy, prompt)
    return _disjoint([*_remnants(policy, prompt, claimed), *_clause_people(policy, prompt, claimed)])


def _remnants(policy: Guidelines, prompt: Prompt, claimed: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The spans of the policy's `[rewriting] keep` terms (places), each with the article before it: what a
    removed clause leaves behind. A place is never the harm itself; what is done to it goes with its clause."""
    found: list[tuple[int, int]] = []
    for term in sorted(present(policy.keep, prompt), key=lambda term: -len(term.words)):
        for first, last in term_spans(term, prompt):
            start, end = prompt.words[first].start, prompt.words[last - 1].end
            if any(a < end and start < b for a, b in found):
                continue
            found.append(_with_article(prompt.text, start, end))
    # Names of places and people ("Port-au-Prince", "Al Noor Mosque") inside a sentence, unless a rule names them
    # (`claimed`: the word spans of the rules' terms)
    names: list[tuple[int, int]] = []
    text, run, words = prompt.text, None, prompt.words
    for index, word in enumerate(words):
        opening = not text[: word.start].rstrip(" \t\"'(") or text[: word.start].rstrip(" \t\"'(")[-1] in ".!?:;\n"
        gap = text[words[run[1]].end : word.start] if run is not None else ""
        hyphenated = run is not None and gap == "-"  # "Port-au-Prince"
        # A sentence's first word is a name when the next one is too ("Sadiq Khan shown as ...")
        leading = opening and index + 1 < len(words) and text[words[index + 1].start].isupper() and (
            text[word.end:words[index + 1].start] == " ")
        # ... and so is a name's particle between two of its words ("Alexandre de Moraes", "Hafez al-Assad")
        particle = run is not None and text[word.start:word.end] in _PARTICLES and index + 1 < len(words) and (
            text[words[index + 1].start].isupper()) and text[word.end:words[index + 1].start] in (" ", "-")
        name = ((text[word.start].isupper() and (leading or not opening)) or hyphenated or particle) and not any(
            a <= index < b for a, b in claimed)
        joined = run is not None and not gap.strip(" -")
        if name and joined:
            run = (run[0], index)
        else:
            if run is not None:
                names.append((words[run[0]].start, words[run[1]].end))
            run = (index, index) if name else None
    if run is not None:
        names.append((words[run[0]].start, words[run[1]].end))
    if names:  # the words a rule reads as an act on what it names ("the Quran alight") do not join a name
        acts = claimed + [span for rule in policy.rules if rule.near for span in spans_of(rule.near.second, prompt)]
        names = [_with_article(prompt.text, start, noun) if noun > end else (start, end)
                 for start, end in names for noun in [_named_noun(prompt, end, acts)]]
    # A name a person is drawn as ("drawn as", "dressed as", "like") is the caricature, not a name of the story
    # ("Xi Jinping drawn as Winnie the Pooh")
    return _disjoint(found + [(start, end) for start, end in names if not _CARICATURE.search(text, 0, start)])


def _with_article(text: str, start: int, end: int) -> tuple[int, int]:
    """The span start:end with the article before it, if there is one."""
    article = _ARTICLE.search(text[:start])
    return article.start() if article else start, end


def _named_noun(prompt: Prompt, end: int, claimed: list[tuple[int, int]]) -> int:
    """Where a name ending at `end` ends with the one noun it qualifies ("a Jewish cemetery in the suburbs", "the AfD
    rally with ...", "the Capitol dome."): the next word when it is a lower-case word that no rule claims and that
    ends its phrase (punctuation or a preposition follows). Otherwise `end`."""
    words, text = prompt.words, prompt.text
    after = next((index for index, word in enumerate(words) if word.start >= end), None)
    if after is None or text[end:words[after].start] != " ":
        return end
    noun = text[words[after].start:words[after].end]
    if not (noun.isalpha() and noun.islower() and len(noun) > 2) or noun in _FUNCTION_WORDS or _PREDICATE.fullmatch(
            noun) or any(a <= after < b for a, b in claimed):
        return end
    # A word in -s after a person's name is as often what they do ("JD Vance laughs"): only after a people's name
    if noun.endswith("s") and not noun.endswith("ss") and not _DEMONYM.search(text, 0, end):
        return end
    if after + 1 < len(words):
        gap = text[words[after].end:words[after + 1].start]
        following = text[words[after + 1].start:words[after + 1].end].lower()
        if gap == " " and following not in _PREPOSITIONS:
            return end
    return words[after].end


_DEMONYM = re.compile(r"[^\W\d_](?:ish|ian|ean|ese|an|i|ic)$")
# Words that end a noun phrase when they follow it
_PREPOSITIONS = frozenset({"in", "on", "at", "near", "outside", "inside", "under", "beneath", "below", "over", "above",
                           "behind", "beside", "by", "for", "from", "of", "with", "and", "or", "after", "before",
                           "during", "amid", "against", "across", "along", "around", "into", "onto", "toward",
                           "towards", "through", "to", "where", "while", "as"})
_FUNCTION_WORDS = _PREPOSITIONS | frozenset({"the", "and", "but", "his", "her", "its", "their", "our", "who", "which",
                                             "that", "this", "these", "those", "are", "was", "were", "has", "have",
                                             "had", "not", "all", "any", "some", "one", "two", "three", "very", "too",
                                             "then", "than", "also", "just", "only", "still", "now", "here",
                                             "there", "ago", "again", "more", "most", "less", "much", "many", "out",
                                             "off", "away", "back", "down", "up"})


_PARTICLES = frozenset({"de", "da", "di", "do", "dos", "das", "del", "della", "van", "von", "der", "den", "ter", "bin",
                        "ibn", "al", "el", "la", "le", "du", "y"})
_CARICATURE = re.compile(r"\b(?:(?:drawn|shown|depicted|portrayed|painted|rendered|dressed|disguised|cast|"
                         r"imagined)\s+as|like)\s+(?:[^\W\d_]+\s+){0,2}$", re.IGNORECASE)


def _disjoint(found: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """`found` in order, less each span that overlaps one before it (the longer of two that start together first)."""
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found, key=lambda span: (span[0], -span[1])):
        if spans and start < spans[-1][1]:
            continue
        spans.append((start, end))
    return tuple(spans)


# What follows the people a clause opens with when the clause says what they do or suffer: a participle
# ("slumped", "kneeling", "beaten"), or "as", "like", "with", "not"
_PREDICATE = re.compile(r"[^\W\d_]{2,}(?:ing|ed)|as|like|with|not|being|beaten|bitten|bound|caught|cut|drawn|held|hung|"
                        r"laid|left|made|seen|set|shot|shown|slain|spread|strewn|struck|stuck|thrown|torn|trodden|"
                        r"written|burnt|sent|kept|led|lain", re.IGNORECASE)
# The longest noun phrase a clause's people are named in ("the deposed finance minister")
PEOPLE_WORDS = 4


def _clause_people(policy: Guidelines, prompt: Prompt, claimed: list[tuple[int, int]]
                   ) -> tuple[tuple[int, int], ...]:
    """The spans of the people each clause opens with (`[rewriting] keep_people`), when what they do or suffer follows
    (_PREDICATE): "the cartoonists slumped over their desks" keeps "the cartoonists" when its clause is taken out.
    A phrase that holds a word of a rule (`claimed`: the word spans of the rules' terms) is none ("hostages
    kneeling", "bodies strewn")."""
    if not policy.keep_people:
        return ()
    heads = {last - 1 for _, last in spans_of(policy.keep_people, prompt)}
    text, words = prompt.text, prompt.words
    opening = [0] + [edge.end() for edge in _CLAUSE_EDGE.finditer(text)]
    found = []
    for clause_start in opening:
        first = next((index for index, word in enumerate(words) if word.start >= clause_start), None)
        if first is None:
            continue
        for last in range(first, min(first + PEOPLE_WORDS, len(words) - 1)):
            if text[words[last].end:words[last + 1].start] not in (" ", "-", "'", "’"):
                break  # the phrase ends at punctuation (not a hyphen or a possessive: "pro-Palestinian", "Khan's")
            if last in heads and _PREDICATE.fullmatch(text[words[last + 1].start:words[last + 1].end]):
                if not any(a <= last and first < b for a, b in claimed):
                    found.append((words[first].start, words[last].end))
                break
    return tuple(found)


def _bystanders(policy: Guidelines, prompt: Prompt, claimed: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The spans of the words of `[rewriting] keep_people` that no rule's term claims (`claimed`: their word spans)."""
    return tuple((prompt.words[first].start, prompt.words[last - 1].end) for first, last in
                 spans_of(policy.keep_people, prompt) if not any(a < last and first < b for a, b in claimed))


def _framing_depictions(policy: Guidelines, prompt: Prompt, matches: list[Match], frame: int,
                        topical: set[str]) -> list[Match]:
    """The rewrite matches in a news story's framing that depict armed people or weapons: those of the topical
    rules other than the policy's `topic_rules` (the abstract words of conflict), unless a word of the policy's
    `subjects` follows within two words and makes the phrase the name of an event or institution ("North Korea's
    missile test", "the arms deal", "troop withdrawal talks"), or the match lies in a quoted headline."""
    if not frame:
        return []
    found = [match for match in matches if match.rule.action == "rewrite" and match.start < frame
             and match.rule.id in topical and match.rule.id not in policy.topic_rules]
    if not found:
        return []
    quoted = [(quote.start(1), quote.end(1)) for quote in _QUOTED.finditer(prompt.text, 0, frame)]
    depicting = []
    for match in found:
        # A quoted headline is the story's name, not a scene to draw
        if any(start <= match.start and match.end <= end for start, end in quoted):
            continue
        # A proper name ("the Wagner Group") names an institution, the story's subject, as a country does; a
        # model name in capitals and digits ("HIMARS", "T-90") is hardware
        named = match.start > 0 and all(_titled(prompt.text[word.start:word.end]) for word in prompt.words
                                        if match.start <= word.start < match.end)
        if not (_names_event(policy, prompt, match) or named):
            depicting.append(match)
    return depicting


def _names_event(policy: Guidelines, prompt: Prompt, match: Match, words: tuple | None = None) -> bool:
    """Whether a word of `words` (`[rewriting] subjects` unless given) lies inside `match` or within the two words
    after it: the phrase names an event or an institution ("North Korea's missile test", "Knife amnesty results",
    "troop withdrawal talks"), not armed people or weapons to draw."""
    inside = [index for index, word in enumerate(prompt.words) if match.start < word.start < match.end]
    following = [index for index, word in enumerate(prompt.words) if word.start >= match.end][:2]
    near = set(inside + following)
    return any(first in near for first, _ in spans_of(policy.subjects if words is None else words, prompt))


def _named_force(policy: Guidelines, prompt: Prompt, match: Match) -> bool:
    """Whether a match of a rule of `[rewriting] named_rules` (armed people) comes right after a name: "North Korean
    troops in Kursk", "RSF fighters take El Fasher" name who the story is about (not "Soldiers near Warsaw")."""
    if match.rule.id not in policy.named_rules:
        return False
    before = [word for word in prompt.words if word.end <= match.start]
    if len(before) < 1:
        return False
    word = prompt.text[before[-1].start:before[-1].end]
    return (word[:1].isupper() or word.isupper()) and prompt.text[before[-1].end:match.start] in (" ", "-")


def _in_a_name(policy: Guidelines, prompt: Prompt, match: Match) -> bool:
    """Whether a match of a rule of `[rewriting] proper_name_rules` is part of a name: its words capitalised, without
    digits, and next to another capitalised word ("the Royal Regiment of Scotland", "Armed Response Vehicle parked
    outside Holyrood", "the A-Bomb Dome"), in a prompt not written in title case ("Army Troops Roll Into Town"). A
    weapon's maker or model is capitalised alone, and is no name of this kind ("a Molotov", "AK-47s")."""
    if match.rule.id not in policy.proper_name_rules:
        return False
    text = prompt.text
    written = _LETTERED.findall(text[match.start:match.end])
    if not written or not all(word[:1].isupper() and not word.isupper() for word in written) or any(
            character.isdigit() for character in text[match.start:match.end]):
        return False
    lettered = _LETTERED.findall(text)
    if sum(word[:1].isupper() for word in lettered) > _TITLE_CASE_SHARE * len(lettered):
        return False
    before = re.search(f"({_LETTERED.pattern}) $", text[:match.start])
    after = re.match(f" ({_LETTERED.pattern})", text[match.end:])
    return any(word is not None and word.group(1)[:1].isupper() for word in (before, after))


def _titled(word: str) -> bool:
    """Whether a word is written as a name: a capital, then lower-case letters ("Wagner", not "HIMARS")."""
    return word[:1].isupper() and word[1:].isalpha() and word[1:].islower()


def _shares_clause(match: Match, others: list[Match], text: str) -> bool:
    """Whether `match` lies in the same clause as one of `others`."""
    edges = [edge.start() for edge in _CLAUSE_EDGE.finditer(text)]
    clauses = {_clause_of(edges, other.start) for other in others}
    return any(_clause_of(edges, start) in clauses for start, _ in match.spans)


def _lead_scene(policy: Guidelines, prompt: Prompt, matches: list[Match], reads: dict) -> int:
    """Where the opening phrase of an unframed news prompt ends, when it is a news scene of its own ("Voters queueing
    outside a national school in Navan, polling station sign, a candidate beaten bloody on the steps"), else 0. Such
    a phrase holds LEAD_SCENE_WORDS words or more, a name (a capitalised word after its first), no match of any
    rule whole, and the phrase head reads it under `[meaning] clauses` (the bar a framed story's phrases are read
    at) where it holds a word of `[rewriting] news_scenes` (voters, protest, parliament, ...), or under the
    stricter `[meaning] lead_scenes` where it holds none (from 2026.11.29); and the classifier scores
    the whole prompt under its threshold (it is sure of "Viktor Orbán as the doormat at the EU Council entrance,
    delegates wiping their shoes on his face", 0.994, whose opening phrase the rules and the phrase head miss):
    the prompt is then a news story that a harmful detail was added to, and loses the detail as a framed story
    does, its opening phrase kept as a framing is. A prompt that opens with the harm ("A man stabbing a woman, in
    a park") is refused."""
    text = prompt.text
    edge = _PHRASE_EDGE.search(text)
    if edge is None or not policy.news_scenes or any(match.end <= edge.start() for match in matches):
        return 0
    end = edge.start()
    names = [word for word in _LETTERED.findall(text[:end])[1:] if word[0].isupper()]
    news = [a for term in present(policy.news_scenes, prompt) for a, _ in term_spans(term, prompt)
            if prompt.words[a].start < end]
    # (a phrase without such a word is read at the stricter `[meaning] lead_scenes`: "Uber drivers block the
    # Autopista Central over the new app law; ..." is a news scene, "the blue-and-yellow cloth of Ukraine laid down
    # as a doormat in a Moscow office, ..." is not)
    bar = policy.meaning_clause_threshold if news else policy.meaning_lead_threshold
    if len(_CONTENT.findall(text[:end])) < LEAD_SCENE_WORDS or not names or bar is None:
        return 0
    if policy.classifier_threshold is None:
        return 0
    if _classifier_read(policy, prompt, reads)["classifier_score"] >= policy.classifier_threshold:
        return 0
    from pipeline.guidelines.meaning import phrase_scores

    return end if phrase_scores([text[:end].strip()])[0][0] < bar else 0


def _story_matches(policy: Guidelines, prompt: Prompt, photorealistic_style: bool, topical: set[str],
                   frame: int | None = None) -> list[Match]:
    """The matches in `prompt` less those of the `topical` rules that start in a news story's framing: what the
    framing names is the story's topic, not something to depict."""
    frame = frame_end(policy, prompt) if frame is None else frame
    return find_matches(policy, prompt, photorealistic_style=photorealistic_style, topic_end=frame,
                        topic_rules=frozenset(topical))


def _balanced(text: str) -> str:
    """`text` without brackets left unpaired or empty by a removal ("( ((x))" -> "((x))", "(:1.4)" -> "")."""
    pairs = {")": "(", "]": "["}
    keep = [True] * len(text)
    stack: list[int] = []
    for index, char in enumerate(text):
        if char in "([":
            stack.append(index)
        elif char in ")]":
            if stack and text[stack[-1]] == pairs[char]:
                stack.pop()
            else:
                keep[index] = False
    for index in stack:
        keep[index] = False
    text = "".join(char for char, kept in zip(text, keep) if kept)
    while True:
        emptied = re.sub(r"[(\[]\s*(?::\s*[\d.]*\s*)?[)\]]", "", text)
        if emptied == text:
            return re.sub(r"\s{2,}", " ", text)
        text = emptied


def _without_overlaps(matches: list[Match], text: str) -> list[Match]:
    """Matches that do not overlap, neighbours of one rule merged into one phrase ("T-90 tanks")."""
    kept: list[Match] = []
    for match in sorted(matches, key=lambda m: (m.start, -(m.end - m.start))):
        if kept and match.start < kept[-1].end:
            continue
        last = kept[-1] if kept else None
        if last and last.rule.id == match.rule.id and not text[last.end : match.start].strip(" -"):
            merged = Match(last.rule, last.term, last.start, match.end, match.plural, text[last.start : match.end])
            kept[-1] = merged
            continue
        kept.append(match)
    return kept


def _action(match: Match, replacement: str | None) -> RuleAction:
    return RuleAction(match.rule.id, match.rule.action, match.matched, replacement, match.rule.category)


def rewrite(text: str, matches: list[Match]) -> tuple[str, list[RuleAction]]:
    """`text` with each matched phrase replaced by its rule's replacement; text elsewhere stays as written.
    Articles agree with the replacement, and a list of one replacement ("tanks and missiles") says it once."""
    out: list[str] = []
    acted: list[RuleAction] = []
    position = 0
    for match in matches:
        before = "".join(out) + text[position : match.start]
        opening = not before.strip() or before.rstrip()[-1] in ".!?:;\n"
        replacement = replacement_for(match, text[match.start : match.end], opening)
        article = _ARTICLE_BEFORE.search(before)
        if article and not match.plural:
            wanted = "an" if replacement[:1].lower() in "aeiou" else "a"
            wanted = wanted.capitalize() if article.group(1)[0].isupper() else wanted
            before = before[: article.start()] + wanted + article.group(2)
        out = [before, replacement]
        acted.append(_action(match, replacement))
        position = match.end
    out.append(text[position:])
    return _collapse("".join(out), matches), acted


def _collapse(text: str, matches: list[Match]) -> str:
    """One mention of a replacement where a list repeats it: "chess rooks and chess rooks" -> "chess rooks"."""
    for rule in {match.rule.id: match.rule for match in matches}.values():
        singular, plural = rule.replacement, rule.plural or rule.replacement
        one = f"(?:{re.escape(plural)}|{re.escape(singular)})"
        joint = r"(?:\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s*&\s*|\s+with\s+)(?:an?\s+|the\s+|some\s+)?"
        pattern = re.compile(rf"(?:\b(?:an?|the)\s+)?\b{one}(?:{joint}{one}\b)+", re.IGNORECASE)
        text = pattern.sub(lambda m: plural if m.group()[:1].islower() else plural[:1].upper() + plural[1:], text)
    return text


def replacement_for(match: Match, written: str, opening: bool = True) -> str:
    """The rule's replacement, plural where the match was plural, capitalised like the text it replaces where
    that opens a sentence (a model name such as "T-90" inside one does not make "Chess rooks")."""
    rule = match.rule
    replacement = rule.plural if match.plural and rule.plural else rule.replacement
    if opening and written[:1].isupper() and not written.rstrip("s").isupper():
        replacement = replacement[:1].upper() + replacement[1:]
    return replacement
