"""Demo subjects with dated weights and a first infusion order, made through the operations.

The caller sets the audit actor and commits (e.g. `flask demo load`).
"""

from datetime import date, timedelta

from manufacturing.core import clock
from manufacturing.patients import operations
from manufacturing.patients.guards import SubjectDetails
from manufacturing.patients.models import Sex, Subject

DEMO_SUBJECTS = (
    # subject ID, initials, date of birth, sex, site, body weights as typed with days before today
    ("LAL2013-RM-001", "MR", date(1955, 4, 12), Sex.MALE, "Rome, Policlinico Umberto I",
     (("66.0 kg", 30), ("64.5 kg", 2))),
    ("LAL2013-RM-002", "GB", date(1949, 11, 3), Sex.FEMALE, "Rome, Policlinico Umberto I",
     (("58.2 kg", 5),)),
    ("LAL2013-RM-003", "FDS", date(1961, 7, 28), Sex.MALE, "Rome, Ospedale S. Eugenio",
     (("81 kg", 9),)),
)


def load_demo(pharmacist) -> dict[str, Subject]:
    """Register the demo subjects and their weights (the infusion orders come with the lots' story)."""
    today = clock.today()
    subjects = {}
    for code, initials, born, sex, site, weights in DEMO_SUBJECTS:
        subject = operations.register_subject(pharmacist, SubjectDetails(code, initials, born, sex, site))
        for entered, days_ago in weights:
            operations.record_body_weight(pharmacist, subject, entered, today - timedelta(days=days_ago))
        subjects[code] = subject
    return subjects
