"""The specifications page: versions in force, their criteria, and the history of versions."""

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from manufacturing.extensions import db
from manufacturing.specifications import registry
from manufacturing.specifications.loader import SpecError
from manufacturing.specifications.models import SpecVersion

bp = Blueprint("specs", __name__, url_prefix="/specs")


@bp.get("/")
def index():
    problem, in_force, files = None, [], []
    try:
        files = registry.read_files()
        in_force = registry.versions_in_force([item.spec for item in files])
    except SpecError as error:
        problem = str(error)
    return render_template("specifications/index.html", problem=problem, in_force=in_force, files=files,
                           history=registry.history())


@bp.get("/<spec_id>/<version>")
def version(spec_id: str, version: str):
    row = db.session.scalar(select(SpecVersion).where(SpecVersion.spec_id == spec_id,
                                                      SpecVersion.version == version)) or abort(404)
    spec = registry.pinned(row.spec_id, row.version, row.content_hash)
    return render_template("specifications/version.html", spec=spec, row=row)
