"""Change control of specification files, the specs CLI and the specifications page."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from manufacturing.core.audit import AuditEvent
from manufacturing.processing.models import StepKind
from manufacturing.specifications import registry
from manufacturing.specifications.loader import SpecError
from manufacturing.specifications.models import SpecVersion

SPECS = Path(__file__).resolve().parents[2] / "specs"
PRODUCT_FILE = "nk-cells-autologous.toml"


@pytest.fixture
def specs_copy(app, tmp_path, monkeypatch):
    """A private copy of specs/ that a test may edit."""
    directory = tmp_path / "specs"
    shutil.copytree(SPECS, directory)
    monkeypatch.setitem(app.config, "SPECS_DIR", str(directory))
    return directory


def _edit(directory: Path, old: str, new: str) -> None:
    path = directory / PRODUCT_FILE
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_specs_check_records_each_version_once(app, database, specs_copy):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["specs", "check"])
    assert first.exit_code == 0 and first.output.count("newly recorded") == 2
    second = runner.invoke(args=["specs", "check"])
    assert second.exit_code == 0 and "newly recorded" not in second.output
    assert len(database.session.scalars(select(SpecVersion)).all()) == 2
    assert database.session.scalars(select(AuditEvent).where(AuditEvent.action == "spec_version.created")).all()


def test_changed_criterion_without_new_version_fails_specs_check(app, database, specs_copy):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["specs", "check"]).exit_code == 0
    _edit(specs_copy, 'min = "70 %"', 'min = "60 %"')
    result = runner.invoke(args=["specs", "check"])
    assert result.exit_code == 1
    assert "content changed without a new version" in result.output
    assert PRODUCT_FILE in result.output


def test_a_new_version_is_accepted_and_the_old_one_stays_readable(app, database, specs_copy):
    assert app.test_cli_runner().invoke(args=["specs", "check"]).exit_code == 0
    old = registry.product_spec()
    _edit(specs_copy, 'min = "70 %"', 'min = "75 %"')
    _edit(specs_copy, 'version = "1.1"', 'version = "1.2"')
    new = registry.product_spec()
    assert new.version == "1.2" and str(new.criterion("viability").text()) == ">= 75 %"
    pinned = registry.pinned(old.id, old.version, old.content_hash)
    assert pinned.criterion("viability").text() == ">= 70 %"


def test_pinned_refuses_other_content(database, specs_copy):
    spec = registry.product_spec()
    with pytest.raises(SpecError, match="not the content"):
        registry.pinned(spec.id, spec.version, "0" * 64)


def test_invalid_file_fails_specs_check_naming_file_and_key(app, database, specs_copy):
    _edit(specs_copy, 'min = "70 %"', 'min = "70 mL"')
    result = app.test_cli_runner().invoke(args=["specs", "check"])
    assert result.exit_code == 1
    assert f"{PRODUCT_FILE}: release.viability.min" in result.output


def test_specs_page_shows_criteria_in_force_and_history(client, login, qa_user, specs_copy):
    registry.record_new_versions()
    login(qa_user)
    page = client.get("/specs/").get_data(as_text=True)
    assert "in force · version 1.1" in page
    assert "7-AAD flow cytometry or trypan blue" in page and "&gt;= 70 %" in page
    assert "may be pending" in page  # sterility
    assert "3.16 × 10⁶ cells/kg" in page  # the dose schedule
    version = client.get("/specs/nk-cells-autologous/1.1")
    assert version.status_code == 200 and "Release specification" in version.get_data(as_text=True)


def test_specs_page_warns_of_a_changed_file(client, login, qa_user, specs_copy):
    registry.record_new_versions()
    _edit(specs_copy, 'min = "70 %"', 'min = "65 %"')
    login(qa_user)
    page = client.get("/specs/").get_data(as_text=True)
    assert "Specification files refused" in page and "content changed without a new version" in page


@contextmanager
def _inserts() -> Iterator[list]:
    """Collect every object any session flushes as new, committed or not."""
    inserted: list = []

    def collect(session, context, instances):
        inserted.extend(session.new)

    event.listen(Session, "before_flush", collect)
    try:
        yield inserted
    finally:
        event.remove(Session, "before_flush", collect)


def test_reading_the_specification_in_force_inserts_no_row(client, login, database, bench, specs_copy):
    lot = bench.lot_through(StepKind.APHERESIS_RECEIPT)
    _edit(specs_copy, 'version = "1.1"', 'version = "1.2"')  # a version in force that no write has recorded
    login(bench.qa)
    with _inserts() as inserted:
        for url in ("/specs/", f"/lots/{lot.id}", f"/subjects/{lot.subject_id}"):
            assert client.get(url).status_code == 200, url
        assert registry.product_spec().version == "1.2"
    assert inserted == []


def test_opening_a_lot_records_the_version_it_pins(database, bench, specs_copy):
    _edit(specs_copy, 'version = "1.1"', 'version = "1.2"')
    lot = bench.lot_through(StepKind.APHERESIS_RECEIPT)
    assert lot.spec_version == "1.2"
    assert registry.pinned(lot.spec_id, lot.spec_version, lot.spec_hash).version == "1.2"
