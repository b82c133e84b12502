"""The one "reason required" rule: a blank reason is refused, a given one goes to the audit trail."""

import pytest

from manufacturing.core.audit import current_reason
from manufacturing.core.checks import require_reason
from manufacturing.core.errors import ReasonRequired


class Session:
    """Just the session's info dictionary, where the reason of a transaction is kept."""

    def __init__(self):
        self.info = {}


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_a_blank_reason_is_refused_in_the_standard_words(blank):
    with pytest.raises(ReasonRequired, match=r"^Give a reason for cancelling the lot\.$"):
        require_reason(Session(), blank, "cancelling the lot")


def test_the_caller_may_word_the_refusal():
    with pytest.raises(ReasonRequired, match=r"^Say why the retest was done"):
        require_reason(Session(), "", "the retest", refusal="Say why the retest was done.")


def test_the_reason_is_trimmed_and_kept_for_the_audit_trail():
    session = Session()
    assert require_reason(session, "  Label damaged  ", "the reprint") == "Label damaged"
    assert current_reason(session) == "Label damaged"
