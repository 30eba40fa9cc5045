"""The judge under the shipped policy: each rule, each style, and what it must leave alone."""

import pytest

from conftest import REPO
from pipeline.errors import InputError
from pipeline.guidelines import judge, load_guidelines

POLICY = load_guidelines()

# One prompt for each rule of the shipped policy, and what that rule must match in it.
EXAMPLES = {
    "gore-bodies": ("corpses in the snow", "corpses"),
    "death-and-injury": ("wounded villagers", "wounded"),
    "gore-scene": ("lifeless migrants on a beach", "lifeless migrants"),
    "atrocity": ("a massacre in a village square", "massacre"),
    "dehumanising": ("refugees drawn as cockroaches", "refugees drawn as cockroaches"),
    "depicted-as-animal": ("the mayor shown as a rat in a suit", "shown as a rat"),
    "depicted-demeaned": ("the central banker as a senile clown", "as a senile"),
    "violence-against-people": ("police shooting at protesters", "shooting at protesters"),
    "attack-on-places": ("shells raining on a school", "shells raining on a school"),
    "hate-symbols": ("a swastika on a wall", "swastika"),
    "desecration": ("a Russian flag being trampled", "flag being trampled"),
    "captives-executions": ("a hostage in a cellar", "hostage"),
    "captives-scene": ("prisoners kneeling before their captors", "prisoners kneeling"),
    "captives-duress": ("hostages kneeling blindfolded beside yellow ribbons", "hostages kneeling blindfolded"),
    "humiliation": ("Kim Jong Un in a diaper, crying", "Kim Jong Un in a diaper"),
    "humiliation-of-office": ("the governor in a dunce cap, pants dropped", "governor in a dunce cap"),
    "war-glorification": ("a glorious war scene", "war scene"),
    "real-person-photoreal": ("a photo of Xi Jinping at a podium", "Xi Jinping"),
    "military-hardware": ("a missile on a launch pad", "missile"),
    "weapons": ("a rifle on a table", "rifle"),
    "troops": ("troops at the border", "troops"),
    "combat-violence": ("an explosion over the harbour", "explosion"),
    "weapons-in-action": ("a cargo ship hit by a missile", "hit by a missile"),
}


def acted(judgement, action=None):
    return [(r.id, r.matched) for r in judgement.rules if r.action != "always" and action in (None, r.action)]


def test_every_rule_has_an_example():
    assert set(EXAMPLES) == {rule.id for rule in POLICY.rules}


@pytest.mark.parametrize("rule", POLICY.rules, ids=lambda rule: rule.id)
def test_each_rule_acts_on_its_example(rule):
    prompt, matched = EXAMPLES[rule.id]
    judgement = judge(prompt, guidelines=POLICY)
    assert judgement.verdict == rule.action
    assert any(rule_id == rule.id and found.startswith(matched) for rule_id, found in acted(judgement))
    if rule.action == "block":
        assert judgement.prompt == "" and rule.id in {r.id for r in judgement.rules if r.action == "block"}
    else:
        assert matched not in judgement.prompt
        assert rule.replacement in judgement.prompt


def test_block_names_every_blocking_rule():
    judgement = judge("a deepfake of Putin beside a burning flag", guidelines=POLICY)
    assert judgement.verdict == "block"
    assert acted(judgement, "block") == [("desecration", "burning flag"), ("real-person-photoreal", "deepfake of"),
                                         ("real-person-photoreal", "Putin")]
    assert "desecration (matched 'burning flag')" in judgement.refusal()


def test_rewrite_keeps_the_rest_as_written_and_reports_each_replacement():
    judgement = judge("Tanks and Ｓｏｌｄｉｅｒｓ near Warsaw — café au lait", style="none", guidelines=POLICY)
    assert judgement.verdict == "rewrite"
    assert judgement.prompt == "Chess rooks and chess pawns near Warsaw — café au lait"
    assert [(r.id, r.matched, r.replacement) for r in judgement.rules if r.action == "rewrite"] == [
        ("military-hardware", "Tanks", "Chess rooks"),
        ("troops", "Ｓｏｌｄｉｅｒｓ", "chess pawns"),
    ]


def test_rewrite_fixes_the_article_and_number():
    # A list of one replacement says it once, in the plural: no "a chess rook and a chess rook".
    assert judge("an armored vehicle and a tank", style="none", guidelines=POLICY).prompt == "chess rooks"
    assert judge("a tank", style="none", guidelines=POLICY).prompt == "a chess rook"
    assert judge("two rifles", style="none", guidelines=POLICY).prompt == "two chess pieces"
    assert judge("an explosion", style="none", guidelines=POLICY).prompt == "a looming shadow"


def test_allowed_text_is_kept_exactly_as_written():
    text = "  A Ｃｈｅｓｓ board\u00ad with café pieces — «quiet»  "
    judgement = judge(text, style="none", guidelines=POLICY)
    assert judgement.verdict == "allow"
    assert judgement.prompt == text.strip()


def test_negated_mentions_do_not_act():
    for text in ("no weapons, a quiet chessboard", "without any soldiers or tanks", "instead of tanks, chess"):
        assert judge(text, guidelines=POLICY).verdict == "allow", text


def test_negation_does_not_carry_across_a_clause_or_into_a_list_for_blocks():
    assert judge("no, tanks at the border", guidelines=POLICY).verdict == "rewrite"
    assert judge("no tanks and corpses", guidelines=POLICY).verdict == "block"


def test_unless_phrases_protect_innocent_uses():
    for text in ("a think tank in Seoul", "a smoking gun on a desk", "the Salvation Army band", "a bullet train"):
        assert judge(text, guidelines=POLICY).verdict == "allow", text
    judgement = judge("a think tank beside a tank", style="none", guidelines=POLICY)
    assert judgement.prompt == "a think tank beside a chess rook"


def test_real_people_are_blocked_only_when_photographic():
    assert judge("Kim Jong-un and Putin at a table", style="editorial-illustration", guidelines=POLICY).verdict == (
        "allow"
    )
    assert judge("a realistic photo of Putin", style="watercolour", guidelines=POLICY).verdict == "block"
    # Only the style is photographic: drawn in the rule's stand-in style, the names kept
    restyled = judge("Putin at a table", style="realistic-hd", guidelines=POLICY)
    assert (restyled.verdict, restyled.style) == ("rewrite", "editorial-illustration")
    assert restyled.prompt.startswith("Putin at a table, editorial illustration")
    assert [(r.id, r.action, r.matched, r.replacement) for r in restyled.rules if r.action == "restyle"] == [
        ("real-person-photoreal", "restyle", "Putin", "editorial-illustration")]


def test_chess_and_diplomacy_language_is_allowed():
    for text in (
        "the knight attacks, the bishop captures, the rook gives check, a queen sacrifice",
        "diplomats negotiate a ceasefire; an executive summit; bad blood between capitals",
        "warm light over Warsaw, a tankard on the table",
    ):
        judgement = judge(text, guidelines=POLICY)
        assert judgement.verdict == "allow" and judgement.prompt.startswith(text), text


@pytest.mark.parametrize("name", list(POLICY.styles))
def test_each_style_puts_the_subject_first_and_adds_its_negative(name):
    style = POLICY.styles[name]
    judgement = judge("a chessboard at dusk", style=name, negative_prompt="blurry hands", guidelines=POLICY)
    assert judgement.style == name
    assert judgement.prompt == style.template.replace("{prompt}", "a chessboard at dusk")
    assert judgement.prompt.startswith("a chessboard at dusk")
    negative = judgement.negative_prompt
    assert negative.startswith("blurry hands")
    for item in style.negative_prompt.split(","):
        assert item.strip() in negative
    assert POLICY.always_negative.split(",")[0] in negative


def test_negative_prompt_items_appear_once():
    judgement = judge("a chessboard", negative_prompt="Text, weapons", guidelines=POLICY)
    items = [item.strip().lower() for item in judgement.negative_prompt.split(",")]
    assert len(items) == len(set(items))


def test_the_always_rule_acts_on_every_allowed_prompt():
    judgement = judge("a chessboard", guidelines=POLICY)
    assert judgement.rules[-1].id == POLICY.always_id and judgement.rules[-1].action == "always"
    assert judgement.verdict == "allow"


def test_default_style_suits_the_example_article():
    prompt = (REPO / "prompts" / "korea-chessboard.txt").read_text().split("$$$")[0].strip()
    judgement = judge(prompt, guidelines=POLICY)
    assert judgement.style == "realistic-hd"
    assert judgement.verdict in ("allow", "rewrite")
    assert judgement.prompt.startswith("Realistic high-definition image representing the concept of escalating")
    assert "chess pieces with national flags" in judgement.prompt


def test_prompt_braces_are_not_template_fields():
    assert judge("a {prompt} and {0}", style="watercolour", guidelines=POLICY).prompt.startswith("a {prompt} and {0}")


def test_bad_input():
    with pytest.raises(InputError, match="the prompt is empty"):
        judge("  \n ", guidelines=POLICY)
    with pytest.raises(InputError, match="unknown style 'oil'; choose from realistic-hd, editorial-illustration"):
        judge("a chessboard", style="oil", guidelines=POLICY)


def test_judgement_to_dict_and_summary():
    judgement = judge("tanks", guidelines=POLICY)
    full = judgement.to_dict()
    assert full["guidelines_version"] == POLICY.version and full["guidelines_digest"] == POLICY.digest
    assert full["rules"][0] == {"id": "military-hardware", "action": "rewrite", "matched": "tanks",
                                "replacement": "chess rooks", "category": "weapons-war"}
    assert list(judgement.summary()) == ["verdict", "style", "prompt", "subject", "negative_prompt", "rules",
                                         "guidelines_version", "guidelines_digest", "vocabulary_digest", "classifier_digest",
                                         "classifier_score", "meaning_digest", "encoder_digest", "meaning_score"]
