"""Pages of subjects, body weights and infusion orders."""

from flask import Blueprint

bp = Blueprint("patients", __name__, url_prefix="/subjects")
