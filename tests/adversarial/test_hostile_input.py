"""Hostile input through every form and URL: never a server error, nothing wrong stored, accented names welcome.

One world for the module (a released lot with a fresh and a frozen unit, an order, a lot just received): every
form is read from its page as each role sees it, filled with plausible values, then posted once per hostile value
in each of its text, quantity and date fields. After each refused post the database holds as many rows as before;
at the end no stored text hides a character, no quantity lies outside its plausible range, no date is absurd.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import Date, DateTime, String, Text, literal, select, union_all
from sqlalchemy import func as sql

from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.plausible import range_of
from manufacturing.core.text import stored_text_problem
from manufacturing.core.web import RowIdConverter
from manufacturing.extensions import db
from manufacturing.lots.din import check_character
from manufacturing.materials.models import Equipment, MaterialLot
from manufacturing.processing.models import ProcessStep, StepKind
from manufacturing.quality import operations as quality
from manufacturing.quality.models import Deviation, DeviationClass
from manufacturing.units import QuantityType
from tests.adversarial.helpers import fail_sterility
from tests.conftest import clean_database
from tests.dispensing.factories import set_up_ward
from tests.factories import PASSWORD, make_user

HIDDEN = ["\x00", "a\x00b", "\x01", "\x08", "\x1b[31mred", "\x7f", "\x85", "\x9b", "\u202e", "\u202a", "\u202d",
          "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d",
          "\u2060", "\ufeff", "\u00ad", "\u2028", "\ue000"]
HIDDEN_TEXTS = [f"Ok{character}text" for character in HIDDEN] + ["adm\u200bin", "Niccol\u00f2 \u202eten\u202c"]
LONG_TEXT = "x" * 100_000
NUMBERS = ["1e308", "-1e308", "inf", "nan", "1" * 400, "1e-320", "-1", "1e30"]
ALWAYS = ["a\x00b", "Ok\u202etext", "adm\u200bin"]  # in every text field; the others in turn
DATES = ["0001-01-01", "9999-12-31", "1900-01-01", "2999-01-01"]
MOMENTS = ["0001-01-01T00:00", "9999-12-31T23:59", "1900-01-01T00:00", "1999-12-31T23:59"]
HUGE_IDS = [2**31, 2**63, 10**20]
PAGES = ["1" * 20, "-1", "0", "abc", "²", "9" * 400]
TEXT_TYPES = {"text", "search", "hidden", "password", None}
ANY_TEXT = "Checked at the bench"


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # name -> input type, "textarea" or "select"
    placeholders: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    """The post forms of a page with their fields and the values the page offers."""

    def __init__(self, url: str):
        super().__init__()
        self.url, self.forms, self._form, self._select, self._textarea = url, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = Form(a.get("action") or self.url)
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input" and a.get("type") not in ("submit", "button"):
            kind = a.get("type")
            if kind in ("checkbox", "radio"):
                self._form.fields.setdefault(a["name"], a.get("value") or "y")
            else:
                self._form.fields[a["name"]] = a.get("value") or ""
            self._form.kinds[a["name"]] = kind
            self._form.placeholders[a["name"]] = a.get("placeholder") or ""
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form.fields[a["name"]], self._form.kinds[a["name"]] = "", "textarea"
        elif tag == "select":
            self._select = a["name"]
            self._form.fields[a["name"]], self._form.kinds[a["name"]] = "", "select"
        if tag == "option" and self._select and a.get("value") and not self._form.fields[self._select]:
            self._form.fields[self._select] = a["value"]

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@dataclass
class Tally:
    inputs: int = 0
    server_errors: list = field(default_factory=list)
    wrong_stored: list = field(default_factory=list)
    rows: int | None = None  # rows of every table after the last post


TALLY = Tally()


@pytest.fixture(scope="module")
def world(app):
    """One world for the module: the ward, a lot just received, a deviation, a post-release alert, an admin."""
    with app.app_context():
        users = [make_user(name, roles=[role], full_name=full) for name, role, full in (
            ("tech.one", "TECHNICIAN", "Tina Tecnica"), ("tech.two", "TECHNICIAN", "Vito Verifica"),
            ("qa.one", "QA", "Quinta Qualita"), ("pharm.one", "PHARMACY", "Piero Farmacia"))]
        ward = set_up_ward(*users)
        ward.admin = make_user("admin.one", roles=["ADMIN"], full_name="Ada Amministra")
        ward.deviation = quality.open_deviation(ward.lot, ward.bench.technician, DeviationClass.MINOR,
                                                "Late sampling", "Sample taken late", "Noted on the record")
        fail_sterility(ward)
        ward.open_lot = ward.bench.receive(clock.now() - timedelta(hours=1), din=_din("G123426000124"))
        db.session.commit()
        yield ward
        db.session.remove()
        clean_database()


def _din(din13: str) -> str:
    return din13 + check_character(din13)


@pytest.fixture(scope="module")
def browser(app, world):
    return app.test_client()


def _log_in(browser, user) -> None:
    browser.post("/logout")
    response = browser.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    TALLY.rows = None  # logging in and out writes to the trail


def _total_rows() -> int:
    """Rows of every table, in one query."""
    counts = [select(sql.count().label("n")).select_from(table) for table in db.metadata.sorted_tables]
    return db.session.scalar(select(sql.sum(union_all(*counts).subquery().c.n))) or 0


def _pages(world) -> dict[str, list[str]]:
    """The pages with post forms, by the role that works on them."""
    lot, dose, bench = world.lot, world.fresh, world.bench
    step = db.session.scalars(select(ProcessStep).where(ProcessStep.lot_id == lot.id,
                                                        ProcessStep.kind == StepKind.CULTURE_DAY)).first()
    material, equipment = db.session.scalars(select(MaterialLot)).first(), db.session.scalars(select(Equipment)).first()
    subject = bench.subject.id
    return {
        "admin": ["/admin/users/new", f"/admin/users/{bench.technician.id}", "/account/password"],
        "technician": ["/lots/receive", f"/lots/{world.open_lot.id}/steps/cd3-depletion/new",
                       f"/lots/{lot.id}/steps/{step.id}/correct", f"/deviations/new/{lot.id}",
                       f"/deviations/{world.deviation.id}", f"/qc/lots/{lot.id}", f"/lots/{lot.id}"],
        "qa": ["/materials/lots/new", f"/materials/lots/{material.id}", "/materials/equipment/new",
               f"/materials/equipment/{equipment.id}", f"/deviations/{world.deviation.id}", f"/release/doses/{dose.id}",
               f"/release/doses/{world.frozen.id}", "/release/alerts/", f"/qc/lots/{lot.id}", f"/lots/{lot.id}"],
        "pharmacist": ["/subjects/new", f"/subjects/{subject}", f"/pharmacy/doses/{dose.id}",
                       f"/pharmacy/doses/{world.frozen.id}"],
    }


def _user(world, role: str):
    return {"admin": world.admin, "technician": world.bench.technician, "qa": world.bench.qa,
            "pharmacist": world.pharmacist}[role]


def _plausible_value(name: str, form: Form, user) -> str:
    """A value the field would accept, so that only the hostile value is wrong."""
    kind, given = form.kinds[name], form.fields[name]
    today, local_now = clock.today(), clock.to_local(clock.now())
    if kind == "password":
        return PASSWORD
    if name.endswith("username"):
        return user.username
    if kind == "date":
        return {"date_of_birth": "1970-05-01", "expiry_date": str(today + timedelta(days=300)),
                "calibration_due": str(today + timedelta(days=300))}.get(name.rpartition("-")[2], str(today))
    if kind == "datetime-local":
        return given or (local_now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    if given or kind in ("select", "checkbox", "radio", "hidden"):
        return given
    example = form.placeholders.get(name, "").removeprefix("e.g. ")
    return example or {"subject_code": "LAL2013-RM-009", "initials": "AB", "din": _din("G123426000125"),
                       "first_wristband": "LAL2013-RM-001", "second_wristband": "LAL2013-RM-001"}.get(name, ANY_TEXT)


def _forms(browser, world) -> list[tuple[object, Form]]:
    """Every post form of the pages, once, as the first role that sees it."""
    found, seen = [], set()
    for role, urls in _pages(world).items():
        user = _user(world, role)
        _log_in(browser, user)
        for url in urls:
            response = browser.get(url)
            assert response.status_code < 500, url
            parser = _Forms(url)
            parser.feed(response.get_data(as_text=True))
            for form in parser.forms:
                key = (form.action, tuple(sorted(form.fields)))
                if form.action != "/logout" and key not in seen:
                    seen.add(key)
                    form.fields = {name: _plausible_value(name, form, user) for name in form.fields
                                   if name != "csrf_token"}  # tests run without CSRF
                    found.append((user, form))
    return found


def _post(browser, user, form: Form, name: str, value: str, refused: bool = True) -> None:
    """Post the form with one hostile value; count a server error, or a refused post that changed the tables."""
    TALLY.inputs += 1
    before = TALLY.rows if TALLY.rows is not None else _total_rows()
    response = browser.post(form.action, data=form.fields | {name: value})
    db.session.rollback()
    TALLY.rows = _total_rows()
    if response.status_code >= 500:
        TALLY.server_errors.append((user.username, form.action, name, value[:30], response.status_code))
    elif refused and TALLY.rows != before:
        TALLY.wrong_stored.append((user.username, form.action, name, value[:30]))


def _hostile_values(form: Form, name: str, turn: int) -> list[str]:
    """The hostile values for one field: the field's kind decides; every hidden character is tried on each form."""
    kind = form.kinds[name]
    if kind == "date":
        return DATES
    if kind == "datetime-local":
        return MOMENTS
    if kind not in TEXT_TYPES and kind != "textarea":
        return ["9" * 20]  # selects, checkboxes, radios: a forged value
    values = [*ALWAYS, *HIDDEN_TEXTS[turn::7][:4], LONG_TEXT]
    example = form.fields[name]
    if form.placeholders.get(name, "").startswith("e.g. "):  # a quantity: the number goes wrong
        unit = example.rsplit(" ", 1)[-1] if " " in example else ""
        values += [f"{number} {unit}".strip() for number in NUMBERS]
    return values


def test_every_form_refuses_hostile_values(app, world, browser):
    for user, form in _forms(browser, world):
        _log_in(browser, user)
        for turn, name in enumerate(form.fields):
            for value in _hostile_values(form, name, turn % 7):
                _post(browser, user, form, name, value, refused=not _may_be_accepted(name, value))
    assert TALLY.server_errors == []
    assert TALLY.wrong_stored == [], len(TALLY.wrong_stored)


def _may_be_accepted(name: str, value: str) -> bool:
    """A few hostile-looking values are legitimate: 1900 as a year of birth, a forged but harmless select."""
    return (value.startswith("1900") and name.endswith("date_of_birth")) or value in ("9" * 20, str(2**63))


def test_a_huge_apheresis_volume_is_refused_and_the_lot_pages_still_render(world, browser):
    _log_in(browser, world.bench.technician)
    form = next(form for user, form in _forms(browser, world) if form.action == "/lots/receive")
    _log_in(browser, world.bench.technician)
    for volume in ("1e308 mL", "1e6 mL", "-0 mL", "0 mL", "inf mL"):
        _post(browser, world.bench.technician, form, "v_volume", volume)
    for url in (f"/lots/{world.lot.id}", f"/lots/{world.open_lot.id}",
                f"/records/lots/{world.lot.id}/batch-record.pdf"):
        assert browser.get(url).status_code == 200, url


def _id_urls(app, world) -> list[tuple[str, str]]:
    """Every URL with a record id, with each id in turn beyond the column's range."""
    urls = []
    for rule in app.url_map.iter_rules():
        ids = [name for name, converter in rule._converters.items() if isinstance(converter, RowIdConverter)]
        others = {name: "x" for name in rule.arguments if name not in ids}
        for name in ids:
            for huge in [*HUGE_IDS, -1, 0]:
                path = rule.rule
                for argument, value in {**dict.fromkeys(ids, 1), **others, name: huge}.items():
                    path = path.replace(f"<id:{argument}>", str(value)).replace(f"<{argument}>", str(value))
                for method in rule.methods & {"GET", "POST"}:
                    urls.append((method, path))
    return urls


def test_ids_beyond_the_column_are_not_found(app, world, browser):
    _log_in(browser, world.admin)
    for role in ("admin", "qa", "technician", "pharmacist"):
        _log_in(browser, _user(world, role))
        for method, url in _id_urls(app, world):
            TALLY.inputs += 1
            before = _total_rows()
            response = browser.open(url, method=method, data={"reason": ANY_TEXT} if method == "POST" else None)
            db.session.rollback()
            if response.status_code >= 500:
                TALLY.server_errors.append((role, method, url, response.status_code))
            assert response.status_code in (403, 404, 405), (role, method, url, response.status_code)
            if _total_rows() != before:
                TALLY.wrong_stored.append((role, method, url, "wrote"))
    assert TALLY.server_errors == [] and TALLY.wrong_stored == []


def test_query_strings_are_bounded(world, browser):
    _log_in(browser, world.bench.qa)
    urls = [f"/audit/?page={page}" for page in PAGES]
    urls += [f"/deviations/new/{world.lot.id}?step_id={page}" for page in PAGES]
    urls += [f"/audit/?{name}={value}" for name in ("date_from", "date_to") for value in [*DATES, "0000-00-00"]]
    urls += [f"/audit/?{name}={value}" for name in ("user", "entity", "entity_id", "scope", "action")
             for value in [*HIDDEN_TEXTS, "%00", "x" * 5000]]
    urls += [f"/materials/?kind={value}&status={value}" for value in ["%00", "\u202e", "9" * 20]]
    for url in urls:
        TALLY.inputs += 1
        response = browser.get(url)
        if response.status_code >= 500:
            TALLY.server_errors.append(("qa", "GET", url, response.status_code))
    assert TALLY.server_errors == []


def test_a_disguised_user_id_in_the_trail_filter_matches_nothing(world, browser):
    _log_in(browser, world.bench.qa)
    page = browser.get("/audit/?user=qa.one\u200b").get_data(as_text=True)
    assert "No events match." in page and "zero-width space (U+200B)" in page
    assert "No events match." not in browser.get("/audit/?user=qa.one").get_data(as_text=True)


def test_a_disguised_user_id_at_login_writes_no_trail_row(world, browser):
    browser.post("/logout")
    before = _total_rows()
    for username in ("adm\u200bin.one", "admin.one\x00", "\u202eeno.nimda", "admin.one\ufeff", "x" * 5000):
        TALLY.inputs += 1
        response = browser.post("/login", data={"username": username, "password": PASSWORD})
        if response.status_code >= 500:
            TALLY.server_errors.append(("-", "/login", username[:30], response.status_code))
        assert response.status_code == 422
    assert _total_rows() == before
    assert TALLY.server_errors == []


def test_accented_names_are_welcome_and_stored_composed(world, browser):
    _log_in(browser, world.admin)
    response = browser.post("/admin/users/new", data={
        "username": "nmuller", "full_name": "Niccolo\u0300 Mu\u0308ller-\u00c6r\u00f8 \u674e", "roles": "TECHNICIAN"})
    assert response.status_code == 200 and "Setup code for nmuller" in response.get_data(as_text=True)
    user = db.session.scalars(select(User).where(User.username == "nmuller")).one()
    assert user.full_name == "Niccol\u00f2 M\u00fcller-\u00c6r\u00f8 \u674e"
    _log_in(browser, world.bench.technician)
    response = browser.post(f"/deviations/new/{world.lot.id}", data={
        "classification": "MINOR", "title": "Étiquette illisible, Ærø", "description": "Zeile 1\r\n\tZeile 2",
        "immediate_action": "Relabelled by Niccolò"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert db.session.scalars(select(Deviation).where(Deviation.title == "Étiquette illisible, Ærø")).one()


def test_nothing_wrong_was_stored(world):
    """Run last: every stored text is printable, every quantity plausible, every date of a plausible year."""
    problems = []
    for table in db.metadata.sorted_tables:
        columns = [column for column in table.columns
                   if isinstance(column.type, String | Text | QuantityType | Date | DateTime)
                   or getattr(column.type, "impl", None) is not None]
        for row in db.session.execute(select(*columns)) if columns else ():
            for column, value in zip(columns, row, strict=True):
                problems += _wrong(table.name, column, value)
    assert problems == []
    assert not db.session.scalar(select(literal(True)).where(AuditEvent.username.contains("\u200b")))
    print(f"\nhostile inputs: {TALLY.inputs}, server errors: {len(TALLY.server_errors)}, "
          f"wrong stored: {len(TALLY.wrong_stored) + len(problems)} ({db.engine.dialect.name})")


def _wrong(table: str, column, value) -> list:
    where = f"{table}.{column.name}"
    if isinstance(value, str) and stored_text_problem(value):
        return [(where, value[:40])]
    if hasattr(value, "magnitude"):
        text = f"{value.magnitude!r}"
        if text.startswith("-0.0") or range_of(value).refusal(value, text):
            return [(where, text)]
    if isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        first = date(1900, 1, 1) if column.name == "date_of_birth" else date(2000, 1, 1)
        if not first <= day <= clock.today() + timedelta(days=3653):
            return [(where, day)]
    return []
