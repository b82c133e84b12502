"""Pages of materials and equipment."""

from flask import Blueprint

bp = Blueprint("materials", __name__, url_prefix="/materials")
