"""The one rule for text people type: printable characters only, in the composed (NFC) form.

Control characters, bidirectional overrides and isolates, zero-width and other invisible format
characters can make a record read differently from what it holds (a signature line reversed, a user ID
that reads "admin" but is another), or break the database. They are refused, never stripped, so that
what is stored is what was typed. Ordinary letters of any script (Niccolò, Müller, Ærø, 李) are welcome.
"""

import unicodedata

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from manufacturing.core.errors import DomainError

LINE_BREAKS = frozenset("\n\r\t")  # allowed in multi-line text only
# Categories refused: Cc control (C0, C1, NUL), Cf format (bidi marks, zero-width, BOM), Cs surrogate,
# Co private use, Cn unassigned; Zl and Zp are line and paragraph separators a text box never sends.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Letters and marks that draw nothing (Unicode's default-ignorable and blank characters outside the Cf category):
# Hangul fillers, the combining grapheme joiner, variation selectors, Mongolian selectors, Khmer inherent vowels,
# the blank Braille pattern.
_INVISIBLE = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x034F, 0x17B4, 0x17B5, 0x2800,
                        *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), *range(0x180B, 0x1810)})
_NAMES = {"\x00": "a NUL character", "\u202e": "a right-to-left override", "\u200b": "a zero-width space",
          "\ufeff": "a byte order mark"}


class TextRefused(DomainError):
    """Typed text holds a character that could hide or disguise what it says."""


def _is_refused(character: str, multiline: bool) -> bool:
    if multiline and character in LINE_BREAKS:
        return False
    return unicodedata.category(character) in _REFUSED_CATEGORIES or ord(character) in _INVISIBLE


def _describe(character: str) -> str:
    """Name a refused character in words, e.g. "a zero-width space (U+200B)"."""
    name = _NAMES.get(character) or ("a control character" if unicodedata.category(character) == "Cc"
                                     else "an invisible formatting character")
    return f"{name} (U+{ord(character):04X})"


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Say why a typed text is refused, or None when every character is printable."""
    for character in value:
        if _is_refused(character, multiline):
            return (f"contains {_describe(character)}, which is not shown on screen or in print; "
                    "retype the text without copying it from another document")
    return None


def stored_text_problem(value: str) -> str | None:
    """The last-line check of a text about to be stored: line breaks allowed, nothing else hidden."""
    return text_problem(value, multiline=True)


def _texts_of(record) -> list[tuple[str, str]]:
    """(column, value) of every text a record is about to store."""
    mapper = inspect(record).mapper
    return [(attr.key, value) for attr in mapper.column_attrs
            if isinstance(value := getattr(record, attr.key, None), str)]


@event.listens_for(Session, "before_flush")
def _refuse_hidden_characters(session: Session, flush_context, instances) -> None:
    """Last line of defence: nothing with a hidden or control character reaches a table, whatever the path."""
    for record in (*session.new, *session.dirty):
        for column, value in _texts_of(record):
            if problem := stored_text_problem(value):
                raise TextRefused(f"Not saved: the {column.replace('_', ' ')} {problem}.")


def in_sentence(title: str) -> str:
    """A title as it reads inside a sentence: 'Culture day 5' -> 'culture day 5'; 'CD3 depletion' keeps its capitals."""
    first, space, rest = title.partition(" ")
    if sum(character.isupper() for character in first) > 1 or any(character.isdigit() for character in first):
        return title
    return first.lower() + space + rest
