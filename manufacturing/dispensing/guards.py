"""Rules of issue, bedside check and administration: pure checks that name the problem, or None."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.permissions import Role, has_role
from manufacturing.dispensing import fitness
from manufacturing.lots.din import Din
from manufacturing.lots.guards import is_open
from manufacturing.patients.guards import is_open_order
from manufacturing.processing.models import DoseState
from manufacturing.processing.states import DOSE
from manufacturing.specifications.dose_limits import exceeded_maximum, within_tolerance
from manufacturing.units import Quantity, format_limit, format_quantity

STOP = "STOP, do not infuse."


def is_pharmacist(user) -> bool:
    return has_role(user, Role.PHARMACY)


def order_problem(order, subject_id: int, infusion_number: int, linked_order_id: int | None) -> str | None:
    """Refuse an order that is not open, is another subject's, or is for another infusion."""
    if not is_open_order(order):
        return f"The order {order.order_reference} is {order.status.title.lower()}: only an open order is served."
    if order.subject_id != subject_id:
        return (f"The order {order.order_reference} is for another subject ({order.subject.subject_code}): "
                "this dose unit is for its own donor only.")
    if order.infusion_number != infusion_number:
        return (f"The order {order.order_reference} is for infusion {order.infusion_number}; this dose unit was "
                f"made for infusion {infusion_number}.")
    if linked_order_id is not None and linked_order_id != order.id:
        return "This dose unit was prepared against another order of the subject."
    return None


def interval_problem(infusion: int, administered: Mapping[int, date], today: date, interval_days: int) -> str | None:
    """Refuse infusion k unless infusion k-1 was given at least the study's interval before today."""
    if infusion <= 1:
        return None
    given = administered.get(infusion - 1)
    if given is None:
        return (f"Infusion {infusion - 1} has not been administered: infusion {infusion} cannot be issued "
                "(escalation goes one infusion at a time).")
    earliest = given + timedelta(days=interval_days)
    if today < earliest:
        return (f"Infusion {infusion - 1} was given on {given.isoformat()}: infusion {infusion} may be issued "
                f"from {earliest.isoformat()} (at least {interval_days} days apart).")
    return None


def dose_level_problem(ordered: Quantity, infusion: int, level: Quantity, maxima: Sequence[Quantity]) -> str | None:
    """Refuse an ordered dose above any maximum (hard stop) or above the schedule's level of the infusion."""
    if (maximum := exceeded_maximum(ordered, maxima)) is not None:
        return (f"The order asks {format_limit(ordered)}, above the maximum dose of {format_limit(maximum)}: "
                "hard stop, this dose is never issued.")
    if ordered > level:
        return (f"The order asks {format_limit(ordered)}, above the study's level for infusion {infusion} "
                f"({format_limit(level)}): it cannot be issued.")
    return None


def delivered_problem(delivered: Quantity, deviation: Quantity, tolerance: tuple[Quantity, Quantity],
                      maxima: Sequence[Quantity]) -> str | None:
    """Refuse a bag whose dose per kg, at the order's weight, is above a maximum or outside the tolerance."""
    if (maximum := exceeded_maximum(delivered, maxima)) is not None:
        return (f"At the order's body weight the bag gives {format_quantity(delivered)}, above the maximum "
                f"dose of {format_limit(maximum)}: hard stop.")
    if not within_tolerance(deviation, tolerance):
        percent = 100 + deviation.m_as("percent")
        low, high = (limit.m_as("percent") for limit in tolerance)
        return (f"At the order's body weight the bag gives {format_quantity(delivered)}, {percent:.1f} % of "
                f"the ordered dose: outside {low:g}-{high:g} %. The dose unit cannot be issued on this order.")
    return None


def checkers_problem(first, second) -> str | None:
    """Two different people, both of the pharmacy, check at the bedside."""
    if second is None:
        return "The second checker's user ID is not known: the second person enters their own user ID."
    if not (is_pharmacist(first) and is_pharmacist(second)):
        return "Both bedside checkers must be pharmacy users."
    if first.id == second.id:
        return "The same person cannot check twice: a second, different person must check at the bedside."
    return None


@dataclass(frozen=True)
class BagReading:
    """What one person read at the bedside: the wristband and the bag's DIN and division."""

    wristband: str
    din: Din
    division: str
    product_code: str | None = None


@dataclass(frozen=True)
class Expected:
    """What the wristband and the bag must show: the order's subject, the lot's DIN, the unit's division."""

    subject_code: str
    din: Din
    division: str
    product_code: str


def identity_problems(reading: BagReading, expected: Expected) -> list[str]:
    """Name every entry that does not match the order and the dose unit."""
    problems = []
    if reading.wristband != expected.subject_code:
        problems.append(f"Wristband {reading.wristband} is not the subject of this order ({expected.subject_code})")
    if reading.din != expected.din:
        problems.append(f"Bag DIN {reading.din.grouped} is not the DIN of this dose unit ({expected.din.grouped})")
    if reading.product_code is not None and reading.product_code != expected.product_code:
        problems.append(f"Bag product code {reading.product_code} is not this product ({expected.product_code})")
    if reading.division != expected.division:
        problems.append(f"Bag division {reading.division} is not the division of this dose unit "
                        f"({expected.division})")
    return problems


def stop_message(shared: list[str], first: list[str], second: list[str], names: tuple[str, str]) -> str | None:
    """Word the refusal of a bedside check: what did not match, and who read it, then STOP."""
    lines = shared + [problem for problem in first if problem in second]
    lines += [f"{problem}, as read by {names[0]}" for problem in first if problem not in second]
    lines += [f"{problem}, as read by {names[1]}" for problem in second if problem not in first]
    return f"{'; '.join(lines)}: {STOP}" if lines else None


def administration_problem(started_at: datetime, ended_at: datetime, checked_at: datetime, use_by: datetime,
                           latest: datetime) -> str | None:
    """The infusion starts after the bedside check, before the use-by time, not in the future, and ends later."""
    if started_at < checked_at.replace(second=0, microsecond=0):  # times are typed to the minute
        return (f"The infusion cannot start ({clock.format_local(started_at)}) before the bedside check "
                f"({clock.format_local(checked_at)}).")
    if started_at > latest or ended_at > latest:
        return "The start and end of the infusion cannot be in the future."
    if started_at >= use_by:
        return f"The infusion cannot start after the use-by time ({clock.format_local(use_by)})."
    if ended_at <= started_at:
        return "The end of the infusion must be after its start."
    return None


def given_before_hold_problem(started_at: datetime, checked_at: datetime, held_at: datetime) -> str | None:
    """A unit put on hold at the ward is recorded as given only if it was checked and its infusion started first."""
    if checked_at < held_at and started_at < held_at:
        return None
    return (f"The dose unit was put on hold at {clock.format_local(held_at)}, before its infusion started: it must "
            "not be given. Bring it back to the pharmacy (return it).")


def volume_problem(volume: Quantity, final_volume: Quantity) -> str | None:
    """The volume infused is more than nothing and not more than the bag holds."""
    if volume.magnitude <= 0:
        return "The volume infused must be more than 0 mL: if nothing was given, return the dose unit."
    if volume > final_volume:
        return (f"The volume infused ({format_quantity(volume)}) is more than the bag holds "
                f"({format_quantity(final_volume)}).")
    return None


@dataclass(frozen=True)
class DoseActions:
    """What the pharmacy may do with a unit as it stands: the page shows a form only where its act is allowed."""

    issue: bool
    check: bool
    administer: bool
    give_back: bool
    discard: bool


def actions_for(dose, user, *, issued: bool, checked: bool, fit: bool, held_after_check: bool = False) -> DoseActions:
    """Ask the unit's transition table, the user's roles and the gate (fit to give) once for the page.

    A unit put on hold after its bedside check may have been infusing already: its administration can be recorded.
    """
    pharmacist = is_pharmacist(user)
    return DoseActions(
        issue=pharmacist and fit and DOSE.allows(dose, "issued"),
        check=pharmacist and fit and DOSE.allows(dose, "administered"),
        administer=pharmacist and checked and (fit or held_after_check) and DOSE.allows(dose, "administered"),
        give_back=pharmacist and issued and DOSE.allows(dose, "returned"),
        discard=(pharmacist or has_role(user, Role.QA)) and DOSE.allows(dose, "discarded"),
    )


def stopped_problem(check_event: int | None, last_mismatch_event: int | None) -> str | None:
    """A bedside check refused after the last matched one (another bag, another wristband) stops the infusion.

    Which came last is read from their places in the audit trail (a clock can give both one moment).
    """
    if last_mismatch_event is None or (check_event is not None and last_mismatch_event < check_event):
        return None
    return ("STOP: the last bedside check found a mismatch. Do not infuse: both check wristband and bag again "
            "before the infusion is recorded.")


def next_pharmacy_act(dose, user) -> str | None:
    """What pharmacy does next with a unit, in its words, when there is something it may do: issue a unit fit to
    give (first its release label, when that is all it lacks), check and record the infusion of an issued one."""
    if not (has_role(user, Role.PHARMACY) and is_open(dose.lot)):
        return None
    if dose.state == DoseState.ISSUED:
        return "bedside check and administration"
    if not DOSE.allows(dose, "issued"):
        return None
    unfit = fitness.unfit_reasons(dose)
    if not unfit:
        return "issue"
    return "print the release label" if len(unfit) == 1 and fitness.needs_release_label(dose) else None
