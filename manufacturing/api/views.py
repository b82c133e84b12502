"""The JSON API, /api/v1: read the records of the process, record QC results and steps, with a bearer token.

Signing (the service-token decision). A QC result is signed as performed by the person who did the test
(21 CFR 11.200: the signer's user ID and password at each signing), and `qc.record_result` signs as it records.
A personal token therefore records a result only with its holder's password in the body, through the very
operation the page calls, with the page's guards and messages. A service token is no person: it may read,
and it never signs. A system such as a LIMS reads through the API; its results are recorded and signed by a
person with a personal token (or on the QC page), and verified by a second person as any other result.
`qc:write` on a service token is refused with that explanation, so no unsigned GMP entry is ever written.
"""

import base64
import binascii

from flask import Blueprint, abort, render_template, request
from spectree import Response
from sqlalchemy import select

from manufacturing.accounts.models import User
from manufacturing.api import present, schemas
from manufacturing.api.access import authenticated, requires, run
from manufacturing.api.models import Scope, TokenKind
from manufacturing.api.problems import Problem
from manufacturing.api.spec import api_spec, document
from manufacturing.audit.forms import TrailFilterForm
from manufacturing.audit.queries import CHAIN_ORDER, TIME_ORDER, trail_query
from manufacturing.core.paging import keyset_page
from manufacturing.core.permissions import Role
from manufacturing.core.text import text_problem
from manufacturing.extensions import csrf, db
from manufacturing.instruments import operations as instrument_imports
from manufacturing.lots.lookup import lot_or_404
from manufacturing.lots.models import Lot, LotState
from manufacturing.patients.models import Subject
from manufacturing.processing import operations as step_operations
from manufacturing.processing.derived import derive
from manufacturing.processing.doses import doses_of
from manufacturing.processing.entries import StepInput
from manufacturing.processing.models import DoseUnit, StepKind
from manufacturing.processing.operations import steps_with_entries
from manufacturing.quality import qc
from manufacturing.records import storage
from manufacturing.release.models import Disposition

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # a token authenticates, never a cookie: there is no cross-site form to forge

SERVICE_CANNOT_SIGN_STEP = ("A service token cannot sign: a step is signed as performed by the technician who did "
                            "it. Record it with that person's personal token and password, or on the step page.")
SERVICE_CANNOT_SIGN = ("A service token cannot sign: a QC result is signed as performed by the person who did "
                       "the test. Record it with that person's personal token and password, or on the QC page.")


def _query():
    return request.context.query


@bp.get("/subjects")
@requires(Scope.READ)
@api_spec.validate(query=schemas.PageQuery, resp=Response(HTTP_200=schemas.SubjectPage), tags=["subjects"])
def subjects():
    """List the subjects of the study, in the order they were registered."""
    page = keyset_page(select(Subject), (Subject.id,), _query().limit)
    return schemas.SubjectPage(items=[present.subject(s) for s in page.rows], next_after=page.next_after,
                               notice=page.notice)


def _subject_or_404(code: str) -> Subject:
    if len(code) > 40 or text_problem(code):
        abort(404)
    return db.session.scalar(select(Subject).where(Subject.subject_code == code)) or abort(404)


@bp.get("/subjects/<code>")
@requires(Scope.READ)
@api_spec.validate(resp=Response(HTTP_200=schemas.SubjectDetail), tags=["subjects"])
def subject(code: str):
    """Show a subject and their lots."""
    record = _subject_or_404(code)
    lots = db.session.scalars(select(Lot).where(Lot.subject_id == record.id).order_by(Lot.id))
    return schemas.SubjectDetail(**present.subject(record), lots=[present.lot_summary(lot) for lot in lots])


@bp.get("/lots")
@requires(Scope.READ)
@api_spec.validate(query=schemas.LotQuery, resp=Response(HTTP_200=schemas.LotPage), tags=["lots"])
def lots():
    """List the lots, oldest first; optionally only those in one state."""
    query = select(Lot)
    if _query().state:
        query = query.where(Lot.state == LotState[_query().state])
    page = keyset_page(query, (Lot.id,), _query().limit)
    return schemas.LotPage(items=[present.lot_summary(lot) for lot in page.rows], next_after=page.next_after,
                           notice=page.notice)


@bp.get("/lots/<id:lot_id>")
@requires(Scope.READ)
@api_spec.validate(resp=Response(HTTP_200=schemas.Lot), tags=["lots"])
def lot(lot_id: int):
    """Show a lot: its state, subject and pinned specification."""
    return schemas.Lot(**present.lot(lot_or_404(lot_id)))


@bp.get("/lots/<id:lot_id>/steps")
@requires(Scope.READ)
@api_spec.validate(resp=Response(HTTP_200=schemas.StepList), tags=["lots"])
def steps(lot_id: int):
    """List the steps of a lot with the values entered and the values calculated from them."""
    records = steps_with_entries(lot_or_404(lot_id))
    derived = derive(records)
    return schemas.StepList(items=[present.step(step, derived.get(step.id)) for step in records])


@bp.get("/lots/<id:lot_id>/dose-units")
@requires(Scope.READ)
@api_spec.validate(resp=Response(HTTP_200=schemas.DoseUnitList), tags=["lots"])
def dose_units(lot_id: int):
    """List the dose units of a lot, each with whether it is fit to give now and, if not, why."""
    return schemas.DoseUnitList(items=[present.dose_unit(dose) for dose in doses_of(lot_or_404(lot_id))])


def _dose_codes(lot: Lot) -> dict[int, str]:
    return dict(db.session.execute(select(DoseUnit.id, DoseUnit.division_code).where(DoseUnit.lot_id == lot.id)).all())


@bp.get("/lots/<id:lot_id>/dispositions")
@requires(Scope.READ)
@api_spec.validate(resp=Response(HTTP_200=schemas.DispositionList), tags=["lots"])
def dispositions(lot_id: int):
    """List QA's dispositions of a lot's dose units, oldest first, each standing or withdrawn, and by whom."""
    lot = lot_or_404(lot_id)
    codes = _dose_codes(lot)
    records = list(db.session.scalars(select(Disposition).where(Disposition.dose_unit_id.in_(list(codes)))
                                      .order_by(Disposition.id))) if codes else []
    users = dict(db.session.execute(select(User.id, User.username).where(
        User.id.in_({record.decided_by_id for record in records}))).all()) if records else {}
    return schemas.DispositionList(items=[present.disposition(record, codes, users) for record in records])


@bp.get("/lots/<id:lot_id>/documents")
@requires(Scope.READ)
@api_spec.validate(resp=Response(HTTP_200=schemas.StoredDocumentList), tags=["lots"])
def documents(lot_id: int):
    """List the documents stored for a lot (batch record, certificates, labels), every revision with its SHA-256."""
    lot = lot_or_404(lot_id)
    codes = _dose_codes(lot)
    return schemas.StoredDocumentList(items=[present.stored_document(record, codes)
                                             for record in storage.revisions(lot)])


@bp.get("/lots/<id:lot_id>/qc-results")
@requires(Scope.READ)
@api_spec.validate(resp=Response(HTTP_200=schemas.QcResultList), tags=["quality"])
def qc_results(lot_id: int):
    """List every QC result of a lot, judged against the lot's pinned specification."""
    sheet = qc.qc_sheet(lot_or_404(lot_id))
    return schemas.QcResultList(items=[present.qc_result(view) for view in sheet.results])


def _dose_of(lot: Lot, code: str | None) -> DoseUnit | None:
    if not code:
        return None
    dose = db.session.scalar(select(DoseUnit).where(DoseUnit.lot_id == lot.id, DoseUnit.division_code == code))
    if dose is None:
        raise Problem(422, f"Lot {lot.lot_number} has no dose unit {code}.")
    return dose


@bp.post("/lots/<id:lot_id>/qc-results")
@requires(Scope.QC_WRITE)
@api_spec.validate(json=schemas.QcResultIn, resp=Response(HTTP_201=schemas.QcResult), tags=["quality"])
def record_qc_result(lot_id: int):
    """Record a QC result signed as performed by the token's holder (personal tokens only, with the password)."""
    token = authenticated()
    if token.kind == TokenKind.SERVICE:
        raise Problem(403, SERVICE_CANNOT_SIGN)
    body = request.context.json
    if not body.password:
        raise Problem(422, "Give your password to sign the result.",
                      errors=[{"field": "password", "in": "body", "message": "This field is required."}])
    lot = lot_or_404(lot_id)
    result = run(qc.record_result, lot, _dose_of(lot, body.dose_unit), body.test_key, body.entered,
                 body.tested_at, token.user, body.password, token.user.username)
    view = next(view for view in qc.qc_sheet(lot_or_404(lot_id)).results if view.result.id == result.id)
    return schemas.QcResult(**present.qc_result(view)), 201


def _signing_holder():
    token = authenticated()
    if token.kind == TokenKind.SERVICE:
        raise Problem(403, SERVICE_CANNOT_SIGN_STEP)
    return token.user


def _step_kind(slug: str) -> StepKind:
    kind = next((kind for kind in StepKind if kind.slug == slug), None)
    if kind is None or kind in (StepKind.APHERESIS_RECEIPT, StepKind.DOSE_PREPARATION):
        abort(404)
    return kind


def _step_input(body: schemas.StepIn) -> StepInput:
    return StepInput(values=dict(body.values), performed_at=body.performed_at, materials=dict(body.materials),
                     equipment=dict(body.equipment), observations=body.observations)


def _step_answer(lot: Lot, step_id: int):
    records = steps_with_entries(lot)
    record = next(record for record in records if record.id == step_id)
    return schemas.Step(**present.step(record, derive(records).get(step_id))), 201


@bp.post("/lots/<id:lot_id>/steps/<kind_slug>")
@requires(Scope.STEPS_WRITE)
@api_spec.validate(json=schemas.StepIn, resp=Response(HTTP_201=schemas.Step), tags=["lots"])
def record_step(lot_id: int, kind_slug: str):
    """Record a step (a culture day, say) as typed, signed as performed by the token's holder (personal tokens)."""
    kind, body = _step_kind(kind_slug), request.context.json
    user = _signing_holder()
    lot = lot_or_404(lot_id)
    step = run(step_operations.record_step, lot, kind, _step_input(body), user, body.password, user.username)
    return _step_answer(lot_or_404(lot_id), step.id)


@bp.post("/lots/<id:lot_id>/steps/<kind_slug>/imports")
@requires(Scope.STEPS_WRITE)
@api_spec.validate(json=schemas.StepImportIn, resp=Response(HTTP_201=schemas.Step), tags=["lots"])
def import_step(lot_id: int, kind_slug: str):
    """Record a step from an instrument export (its values replace typed ones), signed by the token's holder.

    The file is checked as on the import page: it names the lot's sample, a registered instrument in calibration
    (or the one given under `equipment` when the export gives no serial number), a sensible time; once per sample.
    """
    kind, body = _step_kind(kind_slug), request.context.json
    user = _signing_holder()
    lot = lot_or_404(lot_id)
    try:
        content = base64.b64decode(body.file_base64, validate=True)
    except (binascii.Error, ValueError):
        raise Problem(422, "The file is not valid base64.", errors=[
            {"field": "file_base64", "in": "body", "message": "Not base64."}]) from None
    upload = instrument_imports.Upload(instrument_imports.stored_name(body.file_name), content)
    step = run(instrument_imports.import_step, lot, kind, _step_input(body), upload, body.sample_row, user,
               body.password, user.username)
    return _step_answer(lot_or_404(lot_id), step.id)


@bp.get("/audit-events")
@requires(Scope.AUDIT_READ, Role.QA, Role.ADMIN)
@api_spec.validate(query=schemas.AuditQuery, resp=Response(HTTP_200=schemas.AuditPage), tags=["audit"])
def audit_events():
    """Read the audit trail newest first, filtered as on the audit trail page."""
    form = TrailFilterForm(request.args, meta={"csrf": False})
    if not form.validate():
        errors = [{"field": name, "in": "query", "message": message}
                  for name, field in form._fields.items() for message in field.errors]
        raise Problem(422, "The request has invalid fields: see errors.", errors=errors)
    filters = {name: field.data for name, field in form._fields.items()}
    dated = bool(filters["date_from"] or filters["date_to"])
    page = keyset_page(trail_query(**filters), TIME_ORDER if dated else CHAIN_ORDER, _query().limit)
    return schemas.AuditPage(items=[present.audit_event(event) for event in page.rows], next_after=page.next_after,
                             notice=page.notice)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API (no token needed)."""
    return document()


@bp.get("/docs")
def docs():
    """A readable reference of the API, written from the OpenAPI document on the server."""
    return render_template("api/docs.html", spec=document())
