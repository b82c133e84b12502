"""The audit appendix of the batch record: every state change with its old and new value, refusals in words."""

import json
from datetime import datetime, timedelta

import pytest

from manufacturing.core.audit import AuditEvent
from manufacturing.records.batch_appendix import appendix, audit, lot_events
from manufacturing.records.batch_record import build_batch_record
from manufacturing.release import operations
from tests.dispensing.factories import OTHER_DIN, check, done, issue, refused, set_up_ward
from tests.factories import PASSWORD
from tests.release.factories import PASSING, record


def changes_of(lot, action: str) -> list[str]:
    return [row[5] for row in audit(lot) if row[3] == action]


@pytest.fixture
def interim(released_dose):
    return released_dose.dose, released_dose.at


def test_a_release_shows_the_state_it_left_and_the_state_it_reached(interim, bench):
    dose, at = interim
    assert changes_of(dose.lot, "dose.released_interim") == ["state: QUARANTINE → RELEASED_INTERIM"]
    record(bench, dose.lot, dose, "sterility", "no growth", at + timedelta(days=7))
    bench._as(bench.qa, at + timedelta(days=7, hours=1), operations.release_final, dose, bench.qa, PASSWORD,
              bench.qa.username)
    assert changes_of(dose.lot, "dose.final_certificate") == [f"state: RELEASED_INTERIM → {dose.state.name}"]


def test_a_rejection_shows_the_new_state(interim, bench):
    dose, at = interim
    bench._as(bench.qa, at + timedelta(hours=2), operations.reject_dose, dose, bench.qa, PASSWORD,
              bench.qa.username, "Bag leaked during transport")
    assert changes_of(dose.lot, "dose.rejected") == [f"state: RELEASED_INTERIM → {dose.state.name}"]


def test_a_refused_bedside_check_is_written_out(database, technician, verifier, qa_user, pharmacist):
    ward = set_up_ward(technician, verifier, qa_user, pharmacist)
    done(ward.pharmacist, issue, ward)
    error = refused(ward.pharmacist, check, ward, second={"bag_din": OTHER_DIN})
    assert "as read by Paola Farmacia" in error.message
    assert changes_of(ward.lot, "bedside.mismatch") == [error.message]


def _numbers(text: str) -> list[int]:
    """Expand '97–99, 104' into [97, 98, 99, 104]."""
    found = []
    for part in filter(None, text.split(", ")):
        first, _, last = part.partition("–")
        found += range(int(first), int(last or first) + 1)
    return found


def test_every_event_is_either_in_the_appendix_or_named_by_the_step_that_states_it(app, released_dose):
    with app.test_request_context():
        data = build_batch_record(released_dose.lot)
    in_appendix = [number for row in data.audit for number in _numbers(row[0])]
    in_steps = [number for step in data.steps for number in _numbers(step.audit)]
    assert sorted(in_appendix + in_steps) == [event.id for event in lot_events(released_dose.lot)]
    assert all(step.audit for step in data.steps)
    assert not {"step.verified", "step.created"} & {row[3] for row in data.audit}


def test_a_verification_is_one_line_with_its_signature(app, released_dose):
    with app.test_request_context():
        data = build_batch_record(released_dose.lot)
    verified = [row[5] for row in data.audit if row[3] == "qc_result.verified"]
    assert len(verified) == len(PASSING)
    assert all(text.startswith("signature ") and "(VERIFIED); " in text and "status: RECORDED → VERIFIED" in text
               and "verified_by_id: None → " in text for text in verified)


def _event(number: int, action: str, entity: str, entity_id: str, changes: dict, minute: int = 0) -> AuditEvent:
    return AuditEvent(id=number, occurred_at=datetime(2026, 12, 2, 9, minute), username="tech.marco", action=action,
                      entity_type=entity, entity_id=entity_id, changes=json.dumps(changes), reason=None)


VERIFIED = {"status": {"old": "RECORDED", "new": "VERIFIED"}, "verified_by_id": {"old": None, "new": 2}}


def _verification(number: int, result: int, signature: int, minute: int = 0) -> list[AuditEvent]:
    signed = {"meaning": {"new": "VERIFIED"}, "entity_type": {"new": "qc_result"}, "entity_id": {"new": str(result)}}
    return [_event(number, "signature.created", "signature", str(signature), signed, minute),
            _event(number + 1, "qc_result.verified", "qc_result", str(result), VERIFIED, minute)]


def test_results_verified_alike_at_one_moment_share_one_line_naming_each():
    events = [event for result in range(1, 4) for event in _verification(10 * result, result, 100 + result)]
    (row,) = appendix(events, {}).rows
    assert row[0] == "10–11, 20–21, 30–31" and row[3] == "qc_result.verified" and row[4] == "1–3"
    assert row[5] == "signatures 101–103 (VERIFIED); status: RECORDED → VERIFIED; verified_by_id: None → 2"


def test_acts_at_other_moments_or_with_other_changes_keep_their_own_lines():
    later = _verification(20, 2, 102, minute=5)
    other = [_event(30, "qc_result.verified", "qc_result", "3", {"status": {"old": "RECORDED", "new": "VOID"}})]
    rows = appendix(_verification(10, 1, 101) + later + other, {}).rows
    assert [(row[4], row[5].split(";")[0]) for row in rows] == [
        ("1", "signature 101 (VERIFIED)"), ("2", "signature 102 (VERIFIED)"), ("3", "status: RECORDED → VOID")]


def test_acts_with_changes_that_differ_past_what_a_line_prints_keep_their_own_lines():
    long = {"note": {"old": "x" * 200, "new": "a"}}
    other = {"note": {"old": "x" * 200, "new": "b"}}
    events = [_event(10, "lot.corrected", "lot", "1", long), _event(11, "lot.corrected", "lot", "2", other)]
    assert [row[4] for row in appendix(events, {}).rows] == ["1", "2"]


def test_events_of_one_act_stamped_apart_within_the_minute_share_its_line():
    first, second = _verification(10, 1, 101)
    second.occurred_at = first.occurred_at.replace(microsecond=731)
    (row,) = appendix([first, second], {}).rows
    assert row[5].startswith("signature 101 (VERIFIED); status")


def test_record_ids_not_written_plainly_are_listed_as_they_are():
    events = [_event(10, "lot.noted", "lot", "007", VERIFIED), _event(11, "lot.noted", "lot", "008", VERIFIED)]
    assert appendix(events, {}).rows[0][4] == "007, 008"
