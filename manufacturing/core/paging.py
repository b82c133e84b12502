"""Keyset paging of lists: "the rows after this one" or "before this one", never a count of the whole table.

A list is ordered by some of its table's columns ending with the id, so that the order is total; the mark
in the URL (`?after=<id>` or `?before=<id>`) names the last row seen, whose sort values are read back.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import current_app, request
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.sql.elements import UnaryExpression

from manufacturing.core.web import whole_number
from manufacturing.extensions import db

UNREADABLE = "That page mark could not be read: the list starts again from its first page."
GONE = "The row that page was to start from does not exist: the list starts again from its first page."


@dataclass
class Page:
    """One page of a list, the marks of its neighbours, and why it starts from the top when it had to."""

    rows: list
    next_after: int | None = None
    previous_before: int | None = None
    notice: str | None = None
    args: dict = field(default_factory=dict)
    name: str = ""  # a page among several lists reads its marks as `<name>_after` and `<name>_before`

    def mark(self, way: str) -> str:
        return f"{self.name}_{way}" if self.name else way

    def next_args(self) -> dict:
        return {**self.args, self.mark("after"): self.next_after}

    def previous_args(self) -> dict:
        return {**self.args, self.mark("before"): self.previous_before}


def _mark(name: str) -> tuple[int | None, bool]:
    """The id given as `?after=` or `?before=`, and whether what was given could be read."""
    text = request.args.get(name, "")
    number = whole_number(text)
    return number, number is not None or not text


def _parts(term) -> tuple:
    """A column and whether it runs downwards, from `Lot.opened_at.desc()` or a bare column."""
    if isinstance(term, UnaryExpression) and term.modifier is not None:
        return term.element, term.modifier.__name__ == "desc_op"
    return term, False


def _beyond(order: Sequence, values: Sequence, backwards: bool):
    """The rows strictly after the given sort values in this order (before them when going backwards)."""
    alternatives = []
    for position, term in enumerate(order):
        column, downwards = _parts(term)
        later = column < values[position] if downwards != backwards else column > values[position]
        ties = [_parts(earlier)[0] == values[index] for index, earlier in enumerate(order[:position])]
        alternatives.append(and_(*ties, later))
    return or_(*alternatives)


def _reversed(order: Sequence) -> list:
    terms = []
    for term in order:
        column, downwards = _parts(term)
        terms.append(column.asc() if downwards else column.desc())
    return terms


def page_size(setting: str = "LIST_PAGE_SIZE") -> int:
    return current_app.config[setting]


def _read(query: Select, order: Sequence, size: int, beyond=None, backwards: bool = False) -> tuple[list, bool]:
    """Up to `size` rows in order (from beyond a mark, if given), and whether more lie that way."""
    if beyond is not None:
        query = query.where(beyond)
    terms = _reversed(order) if backwards else list(order)
    rows = list(db.session.scalars(query.order_by(None).order_by(*terms).limit(size + 1)).unique())
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    return rows, more


def keyset_page(query: Select, order: Sequence, size: int | None = None, name: str = "") -> Page:
    """Read one page of `query` in `order` (the last term the id) from the request's `after` or `before` mark.

    Going back to the start of the list gives its first page, full.
    """
    size = size or page_size()
    id_column = _parts(order[-1])[0]
    page = Page([], name=name)
    marks = (page.mark("after"), page.mark("before"))
    page.args = {key: value for key, value in request.args.items() if key not in marks and value}
    (after, after_ok), (before, before_ok) = _mark(marks[0]), _mark(marks[1])
    page.notice = None if after_ok and before_ok else UNREADABLE
    mark, backwards = (before, True) if before is not None else (after, False)
    values = None
    if mark is not None:
        values = db.session.execute(select(*[_parts(term)[0] for term in order]).where(id_column == mark)).first()
        page.notice = page.notice if values is not None else GONE
    if values is not None:
        rows, more = _read(query, order, size, _beyond(order, values, backwards), backwards)
        if backwards and not more:  # back at the start
            values, backwards = None, False
    if values is None:
        rows, more = _read(query, order, size)
    page.rows = rows
    if rows:
        first, last = getattr(rows[0], id_column.key), getattr(rows[-1], id_column.key)
        if backwards:
            page.next_after, page.previous_before = last, first
        else:
            page.next_after, page.previous_before = last if more else None, first if values is not None else None
    return page
