"""Demo subjects with dated weights, made through the operations.

Six patients of the trial, each registered when enrolled (`register`); the caller sets the audit actor and commits
(e.g. `flask demo load`). Their lots, orders and infusions come with the stories of the other features.
"""

from datetime import date, timedelta

from manufacturing.core import clock
from manufacturing.patients import operations
from manufacturing.patients.guards import SubjectDetails
from manufacturing.patients.models import Sex, Subject

DEMO_SUBJECTS = {
    # subject ID: initials, date of birth, sex, site, body weights as typed with days before enrolment
    "LAL2013-RM-001": ("AP", date(1958, 2, 14), Sex.FEMALE, "Rome, Policlinico Umberto I", (("64.5 kg", 0),)),
    "LAL2013-RM-002": ("LV", date(1966, 9, 30), Sex.MALE, "Rome, Policlinico Umberto I", (("64.5 kg", 0),)),
    "LAL2013-RM-003": ("CM", date(1952, 6, 5), Sex.FEMALE, "Rome, Ospedale S. Eugenio", (("64.5 kg", 0),)),
    "LAL2013-RM-004": ("MR", date(1955, 4, 12), Sex.MALE, "Rome, Policlinico Umberto I",
                       (("66.0 kg", 30), ("64.5 kg", 2))),
    "LAL2013-RM-005": ("GB", date(1949, 11, 3), Sex.FEMALE, "Rome, Policlinico Umberto I", (("58.2 kg", 5),)),
    "LAL2013-RM-006": ("FDS", date(1961, 7, 28), Sex.MALE, "Rome, Ospedale S. Eugenio", (("81 kg", 9),)),
}


def register(pharmacist, code: str) -> Subject:
    """Register one demo subject now, with the weights recorded before."""
    initials, born, sex, site, weights = DEMO_SUBJECTS[code]
    subject = operations.register_subject(pharmacist, SubjectDetails(code, initials, born, sex, site))
    for entered, days_ago in weights:
        operations.record_body_weight(pharmacist, subject, entered, clock.today() - timedelta(days=days_ago))
    return subject
