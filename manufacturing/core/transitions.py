"""State machines: one transition table per stateful record and one function that moves it.

`StateMachine.move` is the only code that assigns a state: it locks the row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite serialises every write transaction), re-reads the state, checks the table and the
guard, changes the state and records the event. Any other assignment of a persistent record's state
raises at once, so a new code path cannot move a record around its rules.
"""

from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, object_session

from manufacturing.core.audit import record_event
from manufacturing.core.errors import DomainError, OutOfSequence
from manufacturing.extensions import db

LOCKED_KEY = "locked_rows"
_moving: ContextVar[object | None] = ContextVar("moving", default=None)


class StateAssignmentError(RuntimeError):
    """A state was assigned outside its record's transition function: a programming error."""


@dataclass(frozen=True)
class Transition:
    """One permitted move: the action's name, the states it starts from, and the state it leads to."""

    action: str
    sources: frozenset
    target: Enum | Callable[[object], Enum]

    def target_of(self, record) -> Enum:
        return self.target(record) if callable(self.target) else self.target


def lock(record) -> None:
    """Reload a persistent record under a row lock, once per transaction (it must have no pending change)."""
    session = object_session(record) or db.session
    state = inspect(record)
    if not state.persistent:
        return
    locked = session.info.setdefault(LOCKED_KEY, set())
    if state.identity_key in locked:
        return
    session.refresh(record, with_for_update=True)
    locked.add(state.identity_key)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_locks(session: Session) -> None:
    session.info.pop(LOCKED_KEY, None)


class StateMachine:
    """The transition table of one kind of record, keyed by action."""

    def __init__(self, model, transitions: Iterable[Transition], *, field: str = "state",
                 what: Callable[[object], str] = lambda record: "This record", prefix: str | None = None):
        self.model, self.field, self.what = model, field, what
        self.prefix = prefix or model.audit_entity()
        self.transitions = {transition.action: transition for transition in transitions}
        event.listen(getattr(model, field), "set", self._refuse_stray_assignment)

    def _refuse_stray_assignment(self, target, value, old, initiator) -> None:
        if inspect(target).persistent and _moving.get() is not target:
            raise StateAssignmentError(
                f"{type(target).__name__}.{self.field} is assigned outside its transition function.")

    def state_of(self, record) -> Enum:
        return getattr(record, self.field)

    def allows(self, record, action: str) -> bool:
        """Tell whether the action starts from the record's state (for hiding a button)."""
        return self.state_of(record) in self.transitions[action].sources

    def allowing(self, action: str):
        """The same rule as `allows`, as an SQL condition on the record's table (for lists and counts)."""
        return getattr(self.model, self.field).in_(self.transitions[action].sources)

    def refusal(self, record, action: str) -> str | None:
        """Say why the action cannot start from the record's state, or None."""
        if self.allows(record, action):
            return None
        state, target = self.state_of(record), self.transitions[action].target
        if state == target:
            return f"{self.what(record)} is already {state.title.lower()}."
        return f"{self.what(record)} is {state.title.lower()}: it cannot be {action.replace('_', ' ')}."

    def move(self, record, action: str, *, guard: Callable[[], str | None] | None = None,
             event_name: str | None = None, details: dict | None = None) -> Enum:
        """Lock, re-read, check the table and the guard, change the state, audit; return the old state."""
        transition = self.transitions[action]
        lock(record)
        problem = self.refusal(record, action)
        if problem:
            raise OutOfSequence(problem)
        if guard is not None and (problem := guard()):
            raise DomainError(problem)
        old, new = self.state_of(record), transition.target_of(record)
        with self._assigning(record):
            setattr(record, self.field, new)
        changes = {self.field: {"old": old.name, "new": new.name}} | (details or {})
        session = object_session(record) or db.session
        session.flush()
        record_event(session, event_name or f"{self.prefix}.{action}", record.audit_entity(),
                     record.audit_id(), changes, scope=record.audit_scope())
        return old

    @contextmanager
    def _assigning(self, record):
        token = _moving.set(record)
        try:
            yield
        finally:
            _moving.reset(token)


def states(*members: Enum) -> frozenset:
    return frozenset(members)
