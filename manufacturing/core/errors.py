"""Domain errors: a broken rule, told in the lab's words."""


class DomainError(Exception):
    """A rule of the process was broken; the message is shown to the user as it is."""

    def __init__(self, message: str, *, after_rollback: tuple = (), keep_changes: bool = False):
        super().__init__(message)
        self.message = message
        # Work that must be kept although the change is refused (e.g. counting a wrong
        # password toward lockout); run by the caller after the rollback, then committed.
        self.after_rollback = tuple(after_rollback)
        # The refusal itself is the record (a failed login counted under the account's row lock):
        # the caller commits instead of rolling back. Only an operation that changed nothing else says so.
        self.keep_changes = keep_changes

    def __str__(self) -> str:
        return self.message


class NotPermitted(DomainError):
    """The user may not do this (authority check, segregation of duties)."""


class OutOfSequence(DomainError):
    """The step does not fit the permitted sequence of the process."""


class ReasonRequired(DomainError):
    """A change to a signed or GMP record was made without a reason."""


class SignatureError(DomainError):
    """An electronic signature could not be applied."""
