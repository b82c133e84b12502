"""The one rule for typed text: hidden, control and formatting characters refused, letters of any script welcome."""

import pytest
from sqlalchemy import select

from manufacturing.accounts.models import User
from manufacturing.core.text import TextRefused, in_sentence, text_problem
from tests.factories import make_user

HIDDEN = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9b", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
          "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d",
          "\u2060", "\ufeff", "\u00ad", "\u2028", "\u2029", "\ue000",
          # blank letters and marks that draw nothing: Hangul fillers, grapheme joiner, selectors, blank Braille
          "\u3164", "\u115f", "\u1160", "\uffa0", "\u034f", "\ufe0f", "\U000e0100", "\u180b", "\u2800"]


@pytest.mark.parametrize("character", HIDDEN)
def test_hidden_characters_are_refused_in_any_text(character):
    assert "U+" in text_problem(f"Ok{character}text", multiline=True)


@pytest.mark.parametrize("name", ["Niccolò", "Müller", "Ærø", "李", "Łódź", "O'Brien-Smith", "Zoë Ğ", "Ñandú",
                                  "Ελένη", "Анна", "한국", "e\u0301"])
def test_letters_of_any_script_are_welcome(name):
    assert text_problem(name) is None


def test_line_breaks_only_in_multi_line_text():
    assert text_problem("one\r\n\ttwo", multiline=True) is None
    assert "control character" in text_problem("one\ntwo")


def test_a_refusal_names_the_character():
    assert text_problem("adm\u200bin").startswith("contains a zero-width space (U+200B), which is not shown")


@pytest.mark.parametrize("name", ["Ada\x00", "Ada \u202enimda", "adm\u200bin"])
def test_the_database_refuses_hidden_characters_whatever_the_path(database, name):
    with pytest.raises(TextRefused, match="Not saved: the full name contains"):
        make_user("cli.user", full_name=name)
    database.session.rollback()
    assert database.session.scalar(select(User).where(User.username == "cli.user")) is None


def test_the_database_keeps_line_breaks_and_letters(database):
    assert make_user("cli.user", full_name="Niccolò Müller\tÆrø 李").full_name == "Niccolò Müller\tÆrø 李"


@pytest.mark.parametrize(("title", "read"), [("Culture day 5", "culture day 5"), ("CD3 depletion", "CD3 depletion"),
                                             ("Apheresis receipt", "apheresis receipt"), ("Harvest", "harvest"),
                                             ("CD56 selection", "CD56 selection"), ("", "")])
def test_a_title_in_a_sentence_keeps_its_acronyms(title, read):
    assert in_sentence(title) == read
