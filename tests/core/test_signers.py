"""Who may sign: an account whose password is temporary, expired or not yet set up signs nothing."""

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from manufacturing.accounts import operations as accounts
from manufacturing.core.signatures import Signature
from manufacturing.dispensing.models import BedsideCheck
from manufacturing.extensions import db
from manufacturing.processing.models import DoseState
from manufacturing.release import operations as release
from tests.dispensing.factories import PREPARED, check, done, issue, prepare_units, refused
from tests.factories import PASSWORD
from tests.release.factories import record_results

CANNOT_SIGN = "cannot sign until its holder chooses a new password"


def signatures() -> int:
    return db.session.scalar(select(func.count()).select_from(Signature))


def make_unable_to_sign(user, how: str, admin=None) -> None:
    """Leave the user with a temporary, expired or revoked password, as a reset or the calendar would."""
    if how == "must change":
        user.must_change_password = True
    elif how == "expired":
        user.password_changed_at -= timedelta(days=current_app.config["PASSWORD_MAX_AGE_DAYS"] + 1)
    else:
        accounts.reset_password(admin, user, "Forgot password")
    db.session.commit()


@pytest.mark.parametrize("how", ["must change", "expired", "setup code pending"])
def test_a_second_bedside_checker_who_must_change_the_password_cannot_sign(ward, admin, how):
    done(ward.pharmacist, issue, ward)
    before = signatures()
    make_unable_to_sign(ward.second, how, admin)
    error = refused(ward.pharmacist, check, ward)
    assert CANNOT_SIGN in error.message and ward.second.username in error.message
    assert db.session.scalar(select(func.count()).select_from(BedsideCheck)) == 0 and signatures() == before
    assert ward.second.failed_logins == 0  # refused for the account's state, not counted as a wrong password


@pytest.mark.parametrize("how", ["must change", "setup code pending"])
def test_qa_who_must_change_the_password_cannot_release(database, technician, verifier, qa_user, pharmacist,
                                                         admin, how):
    bench, lot, fresh, _frozen = prepare_units(technician, verifier, qa_user, pharmacist)
    record_results(bench, lot, fresh, bench.at(PREPARED + 0.25), dose="1e6 cells/kg", sterility=None)
    make_unable_to_sign(qa_user, how, admin)
    error = refused(qa_user, release.release_dose, fresh, qa_user, PASSWORD, qa_user.username)
    assert CANNOT_SIGN in error.message
    db.session.refresh(fresh)
    assert fresh.state == DoseState.QUARANTINE


def test_after_choosing_a_password_the_same_person_signs(ward, admin):
    done(ward.pharmacist, issue, ward)
    make_unable_to_sign(ward.second, "must change")
    accounts.change_password(ward.second, PASSWORD, "Bedside-second-look-9")
    db.session.commit()
    done(ward.pharmacist, check, ward, second={"password": "Bedside-second-look-9"})
    assert db.session.scalar(select(func.count()).select_from(BedsideCheck)) == 1
