"""Rules of subjects, body weights and infusion orders: pure checks that name the problem, or None."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from manufacturing.core.clock import format_local
from manufacturing.core.permissions import Role, has_role
from manufacturing.core.plausible import range_of
from manufacturing.patients.models import OrderStatus
from manufacturing.specifications.dose_limits import exceeded_maximum
from manufacturing.units import Quantity, format_limit, format_quantity

SUBJECT_ROLES = (Role.PHARMACY, Role.QA)
WEIGHT_ROLES = (Role.PHARMACY, Role.QA)
ORDER_ROLES = (Role.PHARMACY,)
STOP_ROLES = (Role.PHARMACY, Role.QA)

SUBJECT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,38}[A-Z0-9]$")
INITIALS = re.compile(r"^[A-Z]{2,3}$")
ADULT_AGE = 18
OLDEST_AGE = 120


@dataclass(frozen=True)
class SubjectDetails:
    """What identifies a study subject, as entered at registration or correction."""

    subject_code: str
    initials: str
    date_of_birth: date
    sex: object
    site: str

    def normalised(self) -> "SubjectDetails":
        """Return the details as stored: a scanned ID trimmed and upper-cased, initials without dots."""
        initials = re.sub(r"[\s.]", "", self.initials or "").upper()
        return SubjectDetails((self.subject_code or "").strip().upper(), initials, self.date_of_birth,
                              self.sex, (self.site or "").strip())


def may_register_subjects(user) -> bool:
    return has_role(user, *SUBJECT_ROLES)


def may_record_weights(user) -> bool:
    return has_role(user, *WEIGHT_ROLES)


def may_order_infusions(user) -> bool:
    return has_role(user, *ORDER_ROLES)


def may_take_off_study(user, subject=None) -> bool:
    """Pharmacy or QA record that a subject went off study, once."""
    return has_role(user, *STOP_ROLES) and (subject is None or subject.stop is None)


def off_study_problem(stop, consequence: str) -> str | None:
    """Refuse any further act of treatment for a subject off study, saying since when and why."""
    if stop is None:
        return None
    return (f"Subject {stop.subject.subject_code} is off study since {stop.stopped_on.isoformat()} "
            f"({stop.reason.title.lower()}): {consequence}.")


def on_study_problem(stop, at) -> str | None:
    """A unit is given only while its subject is on study: an infusion started before the stop was recorded
    stays recordable, nothing is issued, checked or started after it."""
    if stop is None or at < stop.recorded_at:
        return None
    return off_study_problem(stop, "no dose unit is issued, checked at the bedside or given for them")


def started_ahead_problem(last_start, now) -> str | None:
    """An infusion recorded as starting a few minutes ahead has not started yet: the stop waits for it, so that
    no infusion starts after a stop."""
    if last_start is None or last_start <= now:
        return None
    return (f"An infusion is recorded as starting at {format_local(last_start)}, after now: record the stop once "
            "it has started.")


def stop_date_problem(stopped_on: date, enrolled_on: date, today: date, last_given: date | None) -> str | None:
    """A subject goes off study on a day between their enrolment (or their last infusion) and today."""
    if stopped_on > today:
        return f"The date off study {stopped_on.isoformat()} is in the future."
    if stopped_on < enrolled_on:
        return (f"The date off study {stopped_on.isoformat()} is before the subject's enrolment "
                f"({enrolled_on.isoformat()}).")
    if last_given is not None and stopped_on < last_given:
        return (f"The date off study {stopped_on.isoformat()} is before the subject's last infusion "
                f"({last_given.isoformat()}): give the day the investigator stopped the study.")
    return None


def age_on(date_of_birth: date, day: date) -> int:
    """Return the age in completed years on a day."""
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def subject_code_problem(code: str) -> str | None:
    if not SUBJECT_CODE.match(code):
        return (f"Study subject ID {code!r}: 3 to 40 characters, letters, digits and '-', "
                "starting and ending with a letter or digit (e.g. LAL2013-RM-001).")
    return None


def birth_date_problem(date_of_birth: date, today: date, registering: bool) -> str | None:
    """Refuse a future or implausible date of birth, and a minor at registration (adult trial)."""
    if date_of_birth > today:
        return f"The date of birth {date_of_birth.isoformat()} is in the future."
    age = age_on(date_of_birth, today)
    if age > OLDEST_AGE:
        return f"The date of birth {date_of_birth.isoformat()} gives an age of {age} years: check the year."
    if registering and age < ADULT_AGE:
        return (f"The subject is {age} years old: the study enrols adults only "
                f"({ADULT_AGE} years or older). Check the date of birth.")
    return None


def subject_problem(details: SubjectDetails, today: date, registering: bool) -> str | None:
    """Return the first problem of normalised subject details, or None."""
    if problem := subject_code_problem(details.subject_code):
        return problem
    if not INITIALS.match(details.initials):
        return "Initials: 2 or 3 letters (e.g. MR or MRD)."
    if problem := birth_date_problem(details.date_of_birth, today, registering):
        return problem
    if not details.site:
        return "Give the site that enrolled the subject."
    if len(details.site) > 120:
        return "The site name may have at most 120 characters."
    return None


def weight_problem(weight: Quantity, measured_on: date, today: date, born: date | None = None) -> str | None:
    """Refuse an implausible body weight, a measurement date in the future or before the subject's birth."""
    if problem := range_of(weight, "body_weight").refusal(weight, format_quantity(weight)):
        return problem
    if measured_on > today:
        return f"The weighing date {measured_on.isoformat()} is in the future."
    if born is not None and measured_on < born:
        return f"The weighing date {measured_on.isoformat()} is before the subject's birth ({born.isoformat()})."
    return None


def infusion_number_problem(requested: int, next_infusion: int, max_infusions: int) -> str | None:
    """Refuse an infusion number that skips or repeats one, or goes beyond the study's last."""
    if next_infusion > max_infusions:
        return f"All {max_infusions} infusions of the study are already ordered."
    if requested < next_infusion:
        return (f"Infusion {requested} is already ordered; the next one is infusion {next_infusion}. "
                "Cancel the existing order first if it must be replaced.")
    if requested > next_infusion:
        return f"Infusion {requested} would skip infusion {next_infusion}: order infusion {next_infusion} first."
    return None


def dose_problem(dose_per_kg: Quantity, allowed: Sequence[Quantity], infusion: int,
                 maxima: Sequence[Quantity]) -> str | None:
    """Refuse a dose above any maximum (hard stop, whatever the schedule says) or not allowed now."""
    if (maximum := exceeded_maximum(dose_per_kg, maxima)) is not None:
        return (f"{format_limit(dose_per_kg)} is above the maximum dose of {format_limit(maximum)}: "
                "this dose can never be ordered.")
    if not any(dose_per_kg == level for level in allowed):
        levels = ", ".join(format_limit(level) for level in allowed) or "none"
        return (f"{format_limit(dose_per_kg)} cannot be ordered for infusion {infusion}: the levels allowed "
                f"are {levels} (the same or a lower level than the schedule, at most one step above "
                "the previous infusion).")
    return None


def weight_age_problem(measured_on: date, planned_date: date, max_age_days: float) -> str | None:
    """Refuse a body weight measured too long before the planned infusion."""
    age = (planned_date - measured_on).days
    if age > max_age_days:
        return (f"The body weight of {measured_on.isoformat()} is {age} days old on the planned date "
                f"{planned_date.isoformat()}; at most {max_age_days:g} days are allowed: record a new weight.")
    if age < 0:
        return (f"The body weight of {measured_on.isoformat()} is later than the planned date "
                f"{planned_date.isoformat()}.")
    return None


def planned_date_problem(planned: date, today: date, earliest: date | None, previous: str = "") -> str | None:
    """Refuse a planned date in the past or before the study's interval from the previous infusion."""
    if planned < today:
        return f"The planned date {planned.isoformat()} is in the past."
    if earliest is not None and planned < earliest:
        return f"The planned date cannot be before {earliest.isoformat()}: {previous}".rstrip(": ")
    return None


def is_open_order(order) -> bool:
    """The order waits to be served: neither fulfilled nor cancelled."""
    return order.status == OrderStatus.OPEN


def order_tone(status: OrderStatus | None) -> str:
    """The colour of an order's badge: fulfilled green, open amber, else (not ordered, cancelled) grey."""
    return {OrderStatus.FULFILLED: "green", OrderStatus.OPEN: "amber"}.get(status, "grey")


def cancel_problem(order, dose_units: int, later_infusion: int | None) -> str | None:
    """Refuse to cancel an order that is not open, is in production, or has a later order after it."""
    if not is_open_order(order):
        return f"Infusion {order.infusion_number} is {order.status.title.lower()}: only an open order can be cancelled."
    if dose_units:
        return (f"Infusion {order.infusion_number} has {dose_units} dose unit(s) made for it: "
                "it cannot be cancelled here.")
    if later_infusion is not None:
        return (f"Infusion {later_infusion} is ordered after infusion {order.infusion_number} "
                f"and was planned from it: cancel infusion {later_infusion} first.")
    return None
