"""Signals quality sends so that the layers above it act in the same transaction, without quality importing them."""

from blinker import Namespace

_signals = Namespace()

result_failed = _signals.signal("qc-result-failed")
"""Sent with the QC result and its `evaluation` when a result fails; a receiver returns the alerts it opened."""


def announce_failure(result, evaluation) -> list:
    """Tell the receivers a result failed; return everything they opened, e.g. post-release alerts."""
    return [item for _, opened in result_failed.send(result, evaluation=evaluation) for item in opened or ()]


deviation_affects_product = _signals.signal("deviation-affects-product")
"""Sent inside the assessment's transaction with a deviation QA assessed as affecting the product."""


def announce_product_affected(deviation) -> None:
    """Tell the receivers a deviation of the lot affects the product (release stops the lot's released units)."""
    deviation_affects_product.send(deviation)
