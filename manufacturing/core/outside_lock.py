"""Slow, pure work (a password hash) done outside SQLite's write lock; the operation then runs again.

SQLite has one write lock for the whole file, and a writing request holds it from its first statement: an
argon2 hash computed inside it (tens to hundreds of milliseconds) makes every other writer wait. Under `run`,
an operation that meets such work without an answer stops (`Unanswered`); the transaction is rolled back,
which frees the lock, the work is done with no transaction open, and the operation runs again from its start
with the answer known. That run re-reads everything under the lock, so whatever changed meanwhile decides as
it would have: an account locked or throttled meanwhile is refused and the answer goes unused, and a password
changed meanwhile is another question, asked anew. Since every refused operation rolls back, every operation
is already one that can be run again.

Elsewhere (PostgreSQL, whose row locks hold up only the rows concerned; a command; an operation called
directly) the work is done where it is met, as before.
"""

from collections.abc import Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
RUNS = 4  # a signature at the bedside asks two passwords; past the last run, work is done where it is met


@dataclass
class _Answers:
    known: dict = field(default_factory=dict)
    in_place: bool = False


_answers: ContextVar[_Answers | None] = ContextVar("answers found outside the lock", default=None)


class Unanswered(Exception):
    """An operation under `run` met work it has no answer for: `run` does it out of the lock."""

    def __init__(self, question: Hashable, work: Callable):
        super().__init__("work to do outside the write lock")
        self.question, self.work = question, work


def answer(question: Hashable, work: Callable[[], T]) -> T:
    """Return the work's answer to the question: found before the lock was taken, or now where none can be."""
    answers = _answers.get()
    if answers is None:
        return work()
    if question not in answers.known:
        if not answers.in_place:
            raise Unanswered(question, work)
        answers.known[question] = work()
    return answers.known[question]


def run(session: Session, operation: Callable[[], T]) -> T:
    """Run the operation; on SQLite, once more after each answer found with no transaction open."""
    if session.get_bind().dialect.name != "sqlite":
        return operation()
    answers = _Answers()
    token = _answers.set(answers)
    try:
        for _ in range(RUNS - 1):
            try:
                return operation()
            except Unanswered as unanswered:
                session.rollback()
                answers.known[unanswered.question] = unanswered.work()
        answers.in_place = True
        return operation()
    finally:
        _answers.reset(token)
