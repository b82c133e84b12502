"""Every list and home page reads in the same number of statements with 3 lots as with 30."""

import pytest

from tests.list_worlds import lots_world, person
from tests.statements import counting

# page -> (who looks at it, its address)
PAGES = {
    "lots": ("qa_user", "/lots/"),
    "open deviations": ("qa_user", "/deviations/"),
    "all deviations": ("qa_user", "/deviations/?show=all"),
    "audit trail": ("qa_user", "/audit/"),
    "audit trail of a person": ("qa_user", "/audit/?user=tech.one"),
    "audit trail of a kind of record": ("qa_user", "/audit/?entity=lot"),
    "materials": ("qa_user", "/materials/"),
    "subjects": ("qa_user", "/subjects/"),
    "users": ("admin", "/admin/users/"),
    "post-release alerts": ("qa_user", "/release/alerts/"),
    "release queue": ("qa_user", "/release/"),
    "pharmacy": ("pharmacist", "/pharmacy/"),
    "technician's home": ("technician", "/"),
    "QA's home": ("qa_user", "/"),
    "pharmacy's home": ("pharmacist", "/"),
}


def statements(client, url: str) -> int:
    """How many statements one GET of the page sends to the database (it answers 200)."""
    client.get(url)  # a first visit settles what a session reads once
    with counting() as sent:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(sent)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_reads_as_many_statements_for_30_lots_as_for_3(app, client, login, monkeypatch, page):
    who, url = PAGES[page]
    monkeypatch.setitem(app.config, "LIST_PAGE_SIZE", 10)  # 30 lots fill three pages: a page is full at the larger size
    counts = []
    for size in (3, 30):
        lots_world(size)
        login(person(who))
        counts.append(statements(client, url))
    assert counts[1] == counts[0], f"{page}: {counts[0]} statements with 3 lots, {counts[1]} with 30"
