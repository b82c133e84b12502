"""Pages of materials and equipment: receive and decide on reagent lots, register and calibrate equipment."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.signatures import signature_lines
from manufacturing.core.web import acting_user, attempt, form_errors
from manufacturing.extensions import db
from manufacturing.materials import operations, queries
from manufacturing.materials.forms import (
    CalibrationForm,
    MaterialFilterForm,
    QuarantineMaterialForm,
    ReceiveMaterialForm,
    RegisterEquipmentForm,
    RejectMaterialForm,
    ReleaseMaterialForm,
    RetireEquipmentForm,
)
from manufacturing.materials.guards import (
    EQUIPMENT_MANAGERS,
    MATERIAL_DECIDERS,
    RECEIVERS,
    can_decide_material,
    can_manage_equipment,
    can_receive_material,
    quarantine_problem,
    received_by,
    reject_problem,
    release_problem,
)
from manufacturing.materials.models import Equipment, MaterialLot

bp = Blueprint("materials", __name__, url_prefix="/materials")

STAFF = tuple(Role)


def _me() -> User:
    return acting_user()


def _lot_or_404(lot_id: int) -> MaterialLot:
    return db.session.get(MaterialLot, lot_id) or abort(404)


def _equipment_or_404(equipment_id: int) -> Equipment:
    return db.session.get(Equipment, equipment_id) or abort(404)


@bp.get("/")
@role_required(*STAFF)
def index():
    form = MaterialFilterForm(request.args)
    page = queries.material_lots(**form.filters()) if form.validate() else queries.material_lots()
    return render_template("materials/index.html", form=form, page=page, equipment=queries.all_equipment(),
                           now=clock.now(), lot_badges=queries.lot_badges,
                           equipment_badges=queries.equipment_badges,
                           may_receive=can_receive_material(current_user),
                           may_register=can_manage_equipment(current_user))


@bp.route("/lots/new", methods=["GET", "POST"])
@role_required(*RECEIVERS)
def receive():
    form = ReceiveMaterialForm()
    if form.validate_on_submit():
        material_lot = attempt(operations.receive_material, _me(), form.kind_value(), form.name.data,
                               form.manufacturer.data, form.supplier_lot.data, form.expiry_date.data,
                               success="Lot received into quarantine: QA must release it before use.")
        if material_lot:
            return redirect(url_for("materials.lot", lot_id=material_lot.id))
    return render_template("materials/lot_new.html", form=form)


@bp.get("/lots/<id:lot_id>")
@role_required(*STAFF)
def lot(lot_id: int):
    material_lot = _lot_or_404(lot_id)
    now = clock.now()
    return render_template(
        "materials/lot_detail.html", lot=material_lot, badges=queries.lot_badges(material_lot, now),
        problem=queries.lot_problem(material_lot, now), signatures=signature_lines(material_lot),
        receiver=db.session.get(User, material_lot.received_by_id), may_decide=can_decide_material(current_user),
        received_by_me=received_by(material_lot, current_user), release_form=ReleaseMaterialForm(),
        reject_form=RejectMaterialForm(), quarantine_form=QuarantineMaterialForm(),
        may_release=release_problem(material_lot) is None, may_reject=reject_problem(material_lot) is None,
        may_quarantine=quarantine_problem(material_lot) is None,
    )


@bp.post("/lots/<id:lot_id>/release")
@role_required(*MATERIAL_DECIDERS)
def release(lot_id: int):
    material_lot = _lot_or_404(lot_id)
    form = ReleaseMaterialForm()
    if form.validate_on_submit():
        attempt(operations.release_material, _me(), material_lot, form.sign_password.data,
                username=form.sign_username.data, comment=form.comment.data,
                success="Lot released: it can now be used in the process.")
    else:
        form_errors(form)
    return redirect(url_for("materials.lot", lot_id=lot_id))


@bp.post("/lots/<id:lot_id>/reject")
@role_required(*MATERIAL_DECIDERS)
def reject(lot_id: int):
    material_lot = _lot_or_404(lot_id)
    form = RejectMaterialForm()
    if form.validate_on_submit():
        attempt(operations.reject_material, _me(), material_lot, form.reason.data, form.sign_password.data,
                username=form.sign_username.data, success="Lot rejected: it can never be used.")
    else:
        form_errors(form)
    return redirect(url_for("materials.lot", lot_id=lot_id))


@bp.post("/lots/<id:lot_id>/quarantine")
@role_required(*MATERIAL_DECIDERS)
def quarantine(lot_id: int):
    material_lot = _lot_or_404(lot_id)
    form = QuarantineMaterialForm()
    if form.validate_on_submit():
        attempt(operations.quarantine_material, _me(), material_lot, form.reason.data,
                success="Lot put back in quarantine: it cannot be used until QA releases it again.")
    else:
        form_errors(form)
    return redirect(url_for("materials.lot", lot_id=lot_id))


@bp.route("/equipment/new", methods=["GET", "POST"])
@role_required(*EQUIPMENT_MANAGERS)
def register_equipment():
    form = RegisterEquipmentForm()
    if form.validate_on_submit():
        equipment = attempt(operations.register_equipment, _me(), form.code.data, form.name.data,
                            form.kind_value(), form.location.data, form.calibration_due.data,
                            form.serial_number.data or "", success="Equipment registered.")
        if equipment:
            return redirect(url_for("materials.equipment", equipment_id=equipment.id))
    return render_template("materials/equipment_new.html", form=form)


@bp.get("/equipment/<id:equipment_id>")
@role_required(*STAFF)
def equipment(equipment_id: int):
    item = _equipment_or_404(equipment_id)
    now = clock.now()
    return render_template(
        "materials/equipment_detail.html", equipment=item, badges=queries.equipment_badges(item, now),
        problem=queries.equipment_problem(item, now), may_manage=can_manage_equipment(current_user),
        calibration_form=CalibrationForm(), retire_form=RetireEquipmentForm(),
    )


@bp.post("/equipment/<id:equipment_id>/calibration")
@role_required(*EQUIPMENT_MANAGERS)
def calibration(equipment_id: int):
    item = _equipment_or_404(equipment_id)
    form = CalibrationForm()
    if form.validate_on_submit():
        attempt(operations.record_calibration, _me(), item, form.calibration_due.data, form.reason.data,
                success="Calibration recorded: the new due date is in force.")
    else:
        form_errors(form)
    return redirect(url_for("materials.equipment", equipment_id=equipment_id))


@bp.post("/equipment/<id:equipment_id>/retire")
@role_required(*EQUIPMENT_MANAGERS)
def retire(equipment_id: int):
    item = _equipment_or_404(equipment_id)
    form = RetireEquipmentForm()
    if form.validate_on_submit():
        attempt(operations.retire_equipment, _me(), item, form.reason.data,
                success="Equipment retired: it can no longer be used.")
    else:
        form_errors(form)
    return redirect(url_for("materials.equipment", equipment_id=equipment_id))
