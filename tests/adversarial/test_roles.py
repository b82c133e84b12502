"""Other roles at each act: pharmacist releasing, QA at the bedside, one person twice, accounts that cannot sign."""

import pytest
from sqlalchemy import func, select

from manufacturing.accounts import operations as accounts
from manufacturing.core.audit_verify import verify_chain
from manufacturing.core.permissions import Role
from manufacturing.core.signatures import Signature
from manufacturing.dispensing.models import BedsideCheck
from manufacturing.extensions import db
from manufacturing.processing.models import DoseState
from manufacturing.release import operations as release
from tests.adversarial.helpers import fail_sterility
from tests.dispensing.factories import check, done, issue, refused
from tests.factories import PASSWORD


def test_pharmacist_cannot_release_a_held_unit(ward):
    fail_sterility(ward)
    db.session.refresh(ward.frozen)
    assert ward.frozen.state == DoseState.ON_HOLD
    error = refused(ward.pharmacist, release.release_dose, ward.frozen, ward.pharmacist, PASSWORD,
                    ward.pharmacist.username)
    assert "Only QA" in error.message


def test_qa_cannot_check_at_the_bedside(ward):
    done(ward.pharmacist, issue, ward)
    ward.second = ward.bench.qa
    assert "pharmacy" in refused(ward.pharmacist, check, ward).message


def test_the_same_person_cannot_check_twice(ward):
    done(ward.pharmacist, issue, ward)
    ward.second = ward.pharmacist
    assert "same person" in refused(ward.pharmacist, check, ward).message


@pytest.mark.parametrize("how", ["deactivated", "locked"])
def test_a_second_checker_who_cannot_sign_is_refused(ward, admin, how):
    done(ward.pharmacist, issue, ward)
    if how == "deactivated":
        done(admin, accounts.deactivate, admin, ward.second, "Left the hospital")
    else:
        for _ in range(10):
            try:
                accounts.register_failed_password(ward.second, "test")
                db.session.commit()
            except Exception:
                db.session.rollback()
        db.session.refresh(ward.second)
        assert ward.second.locked
    assert "cannot sign" in refused(ward.pharmacist, check, ward).message
    assert db.session.scalar(select(func.count()).select_from(BedsideCheck)) == 0


def test_a_step_performer_given_qa_role_cannot_release(ward, admin):
    fail_sterility(ward)
    verifier = ward.bench.verifier
    done(admin, accounts.set_roles, admin, verifier, [Role.TECHNICIAN, Role.QA], "Covers QA this week")
    error = refused(verifier, release.release_dose, ward.frozen, verifier, PASSWORD, verifier.username)
    assert "another QA person" in error.message


def test_no_meaning_twice_on_a_version_and_the_audit_chain_holds(ward):
    done(ward.pharmacist, issue, ward)
    done(ward.pharmacist, check, ward)
    fail_sterility(ward)
    rows = db.session.execute(select(Signature.entity_type, Signature.entity_id, Signature.record_version,
                                     Signature.meaning, func.count()).group_by(
        Signature.entity_type, Signature.entity_id, Signature.record_version, Signature.meaning)
        .having(func.count() > 1)).all()
    assert rows == []
    assert verify_chain(db.session).ok
