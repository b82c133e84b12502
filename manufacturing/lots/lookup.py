"""Find the lot a page is about."""

from flask import abort

from manufacturing.extensions import db
from manufacturing.lots.models import Lot


def lot_or_404(lot_id: int) -> Lot:
    """Return the lot, or answer 404 Not found."""
    return db.session.get(Lot, lot_id) or abort(404)
