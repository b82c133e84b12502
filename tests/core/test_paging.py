"""Keyset paging: every row once, forwards and back, through ties on time; a mark that cannot be read or is gone
starts the list again from the top."""

import re
from datetime import datetime, time

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.paging import GONE, UNREADABLE
from manufacturing.lots.models import Lot
from manufacturing.quality.models import Deviation
from tests.list_worlds import lots_world, person

LOT_LINK = re.compile(r'href="/lots/(\d+)"')
EVENT_ROW = re.compile(r"<tr>\s*<td>(\d+)</td>")


def _mark(page: str, name: str) -> str | None:
    found = re.search(rf'href="[^"]*(?:\?|&amp;){name}=(\d+)[^"]*"', page)
    return found.group(1) if found else None


def walk(client, url: str, rows: re.Pattern, forwards: bool = True, start: str = "") -> list[list[int]]:
    """Follow the pager from `start` to the end of the list; return the rows of each page in the order read."""
    name, pages = ("after" if forwards else "before"), []
    page = client.get(url + start).get_data(as_text=True)
    while True:
        pages.append([int(row) for row in rows.findall(page)])
        mark = _mark(page, name)
        if mark is None:
            return pages
        separator = "&" if "?" in url else "?"
        page = client.get(f"{url}{separator}{name}={mark}").get_data(as_text=True)


@pytest.fixture
def thirty_lots(app, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "LIST_PAGE_SIZE", 4)
    monkeypatch.setitem(app.config, "AUDIT_PAGE_SIZE", 7)
    lots_world(30)
    login(person("qa_user"))


def _lots_newest_first(database) -> list[int]:
    return list(database.session.scalars(select(Lot.id).order_by(Lot.opened_at.desc(), Lot.id.desc())))


def test_the_lots_list_walks_every_lot_once_in_order_through_ties(database, client, thirty_lots):
    expected = _lots_newest_first(database)
    opened = database.session.scalars(select(Lot.opened_at)).all()
    assert len(set(opened)) < len(opened)  # lots opened at the same moment
    pages = walk(client, "/lots/", LOT_LINK)
    assert [lot for page in pages for lot in page] == expected
    assert all(len(page) == 4 for page in pages[:-1]) and len(pages) == 8


def test_the_lots_list_walks_back_from_its_last_page(database, client, thirty_lots):
    expected = _lots_newest_first(database)
    last = walk(client, "/lots/", LOT_LINK)[-1]
    back = walk(client, "/lots/", LOT_LINK, forwards=False, start=f"?after={expected[-len(last) - 1]}")
    assert [lot for page in reversed(back) for lot in page] == expected


def test_the_audit_trail_walks_every_event_once_with_its_filter(database, client, thirty_lots):
    expected = list(database.session.scalars(select(AuditEvent.id).where(AuditEvent.entity_type == "lot")
                                             .order_by(AuditEvent.id.desc())))
    pages = walk(client, "/audit/?entity=lot", EVENT_ROW)
    assert [event for page in pages for event in page] == expected and len(pages) > 2


def test_the_deviations_walk_every_deviation_once(database, client, thirty_lots):
    expected = list(database.session.scalars(select(Deviation.id).order_by(Deviation.opened_at.desc(),
                                                                           Deviation.id.desc())))
    pages = walk(client, "/deviations/?show=all", re.compile(r'href="/deviations/(\d+)"'))
    assert [deviation for page in pages for deviation in page] == expected and len(pages) > 2


@pytest.mark.parametrize("mark", ["abc", "-1", "0", "1.5", "99999999999999999999", "１２", "%00", "1e3"])
@pytest.mark.parametrize("url", ["/lots/", "/deviations/?show=all", "/audit/", "/materials/", "/subjects/"])
def test_a_mark_that_cannot_be_read_starts_the_list_from_the_top(client, login, qa_user, url, mark):
    login(qa_user)
    separator = "&" if "?" in url else "?"
    for name in ("after", "before"):
        response = client.get(f"{url}{separator}{name}={mark}")
        assert response.status_code == 200 and UNREADABLE in response.get_data(as_text=True)


def test_a_mark_of_a_row_that_is_not_there_starts_the_list_from_the_top(database, client, thirty_lots):
    page = client.get("/lots/?after=2147483647").get_data(as_text=True)
    assert GONE in page and [int(lot) for lot in LOT_LINK.findall(page)] == _lots_newest_first(database)[:4]


def test_the_audit_trail_between_dates_walks_every_event_once_newest_first(database, client, thirty_lots):
    day = clock.local_date(database.session.scalar(select(func.min(Lot.opened_at))))
    since = clock.local_from_naive(datetime.combine(day, time.min))
    expected = list(database.session.scalars(select(AuditEvent.id).where(AuditEvent.occurred_at >= since)
                                             .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())))
    pages = walk(client, f"/audit/?date_from={day.isoformat()}", EVENT_ROW)
    assert [event for page in pages for event in page] == expected and len(pages) > 2


@pytest.mark.parametrize("mark", ["issue_after", "give_before", "orders_after"])
def test_each_list_of_a_page_of_several_reads_its_own_marks(client, login, pharmacist, mark):
    login(pharmacist)
    assert UNREADABLE in client.get(f"/pharmacy/?{mark}=abc").get_data(as_text=True)
    assert UNREADABLE not in client.get(f"/pharmacy/?after=abc&{mark}=2").get_data(as_text=True)
