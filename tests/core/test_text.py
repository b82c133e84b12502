"""The one rule for typed text: hidden, control and formatting characters refused, letters of any script welcome."""

import pytest

from manufacturing.core.text import TextRefused, clean_text, text_problem

HIDDEN = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9b", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
          "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d",
          "\u2060", "\ufeff", "\u00ad", "\u2028", "\u2029", "\ue000"]


@pytest.mark.parametrize("character", HIDDEN)
def test_hidden_characters_are_refused_in_any_text(character):
    assert "U+" in text_problem(f"Ok{character}text", multiline=True)


@pytest.mark.parametrize("name", ["Niccolò", "Müller", "Ærø", "李", "Łódź", "O'Brien-Smith", "Zoë Ğ", "Ñandú"])
def test_letters_of_any_script_are_welcome(name):
    assert text_problem(name) is None


def test_line_breaks_only_in_multi_line_text():
    assert text_problem("one\r\n\ttwo", multiline=True) is None
    assert "control character" in text_problem("one\ntwo")


def test_text_is_stored_composed_and_a_refusal_names_the_field():
    assert clean_text("Niccolo\u0300", "Full name") == "Niccolò"
    with pytest.raises(TextRefused, match=r"Full name contains a zero-width space \(U\+200B\)"):
        clean_text("adm\u200bin", "Full name")
