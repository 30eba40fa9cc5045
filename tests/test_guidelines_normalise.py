"""Each normalisation step that matching relies on, and that spans always point into the text as written."""

import pytest

from pipeline.guidelines.normalise import base as stem, canonical_char, canonical_text, phrase_words, readings, words


def spelled(text):
    return [word.readings[0] if len(word.readings) == 1 else word.readings for word in words(text)]


def test_case_is_folded():
    assert spelled("TANKS Tanks") == ["tanks", "tanks"]


def test_full_width_and_mathematical_letters_become_ascii():
    assert spelled("Ｔａｎｋｓ") == ["tanks"]
    assert spelled("\U0001d42d\U0001d41a\U0001d427\U0001d424") == ["tank"]  # mathematical bold


@pytest.mark.parametrize("invisible", ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_invisible_characters_are_dropped(invisible):
    assert spelled(f"sol{invisible}diers") == ["soldiers"]


def test_accents_are_dropped():
    assert spelled("sóldïers") == ["soldiers"]


def test_cyrillic_and_greek_look_alikes_read_as_latin():
    assert spelled("ѕоldіегѕ") == ["soldiers"]  # Cyrillic s, o, i, e, r
    assert spelled("ταnκs") == ["tanks"]  # Greek tau, alpha, kappa
    assert canonical_char("а") == "a"  # Cyrillic a
    assert canonical_char("ο") == "o"  # Greek omicron


def test_letters_spaced_apart_are_joined():
    assert spelled("t a n k s at the border") == ["tanks", "at", "the", "border"]
    # After a spaced-out word, two spaced letters are a word too
    assert spelled("d a n c i n g  o n  t h e  c o f f i n") == ["dancing", "on", "the", "coffin"]
    assert spelled("we saw o n the road") == ["we", "saw", "o", "n", "the", "road"]
    assert spelled("T.A.N.K") == ["tank"]
    assert spelled("g-u-n") == ["gun"]


def test_two_single_letters_are_not_joined():
    assert spelled("a b tank") == ["a", "b", "tank"]


def test_digit_swaps_give_letter_readings():
    assert readings("s0ldiers") == ("s0ldiers", "soldiers")
    assert readings("k1ll") == ("k1ll", "kill", "klll")
    assert readings("b1ood") == ("b1ood", "biood", "blood")
    assert readings("$oldier") == ("$oldier", "soldier")
    assert readings("gr3nade") == ("gr3nade", "grenade")


def test_plain_words_and_numbers_read_as_themselves():
    assert readings("1950") == ("1950",)
    assert readings("chess") == ("chess",)
    assert spelled("tanks!") == ["tanks"]


def test_inflections_share_a_stem_but_innocent_words_do_not():
    assert stem("tanks") == stem("tank")
    assert stem("soldiers") == stem("soldier")
    assert stem("bombing") == stem("bombed") == stem("bomb")
    assert stem("tankard") != stem("tank")
    assert stem("warsaw") != stem("war") and stem("warm") != stem("war")


def test_a_silent_e_makes_another_word():
    # "rate" is not "rat" and "rap" is not "rape": a short word doubles its last letter before -ed and -ing
    assert stem("rate") == stem("rates") == stem("rated") == stem("rating") != stem("rat")
    assert stem("rat") == stem("rats") == stem("ratted")
    assert stem("rape") == stem("raped") == stem("raping") != stem("rap") == stem("rapping")
    assert stem("hate") == stem("hated") != stem("hat")
    assert stem("bleed") == stem("bleeding") == stem("bleeds")
    assert stem("gases") == stem("gas")
    # the shipped classifier's features were made with every final "e" dropped
    assert stem("rate", silent_e=False) == stem("rat", silent_e=False)


def test_spans_point_into_the_original_text():
    text = "Ｔｈｅ s0l\u200bdiers at W a r"
    found = words(text)
    assert [text[w.start : w.end] for w in found] == ["Ｔｈｅ", "s0l\u200bdiers", "at", "W a r"]


def test_canonical_text_keeps_an_origin_for_each_character():
    canon, origin = canonical_text("a\u00adＢ")
    assert canon == "ab"
    assert origin == [0, 2]


def test_phrase_words_are_plain():
    assert phrase_words("Kim Jong-un") == ("kim", "jong", "un")
    assert phrase_words("AK-47") == ("ak", "47")


def test_a_spaced_word_keeps_one_separator():
    assert spelled("a b-o-m-b") == ["a", "bomb"]
    assert spelled("t.a.n.k.s") == ["tanks"]


def test_a_spaced_word_may_start_after_a_one_letter_word():
    [word] = words("a t a n k")
    assert word.readings == ("atank", "tank")
