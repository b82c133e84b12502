"""Records as the API shows them: plain data, every quantity with its unit as the registry writes it."""

import json

from manufacturing.core.audit import AuditEvent
from manufacturing.dispensing import fitness
from manufacturing.lots.models import Lot
from manufacturing.patients.models import Subject
from manufacturing.processing.derived import LABELS, Derived
from manufacturing.processing.models import DoseUnit, ProcessStep
from manufacturing.quality.qc import ResultView
from manufacturing.units import Quantity, format_quantity


def quantity(value: Quantity | None) -> dict | None:
    if value is None:
        return None
    return {"value": float(value.magnitude), "unit": f"{value.units:D}", "shown": format_quantity(value)}


def subject(record: Subject) -> dict:
    weight = record.latest_weight
    return {"code": record.subject_code, "initials": record.initials, "sex": record.sex.name, "site": record.site,
            "latest_weight": quantity(weight.weight) if weight else None, "created_at": record.created_at}


def lot_summary(record: Lot) -> dict:
    return {"id": record.id, "lot_number": record.lot_number, "din": record.din, "state": record.state.name,
            "state_title": record.state.title, "subject_code": record.subject.subject_code,
            "opened_at": record.opened_at}


def lot(record: Lot) -> dict:
    return lot_summary(record) | {"spec_id": record.spec_id, "spec_version": record.spec_version,
                                  "hold_reason": record.hold_reason, "cancel_reason": record.cancel_reason}


def _value(entry) -> dict:
    shown = {"key": entry.key, "entered": entry.entered}
    if entry.quantity is not None:
        shown |= {"value": float(entry.quantity.magnitude), "unit": f"{entry.quantity.units:D}"}
    else:
        shown["text"] = entry.text
    return shown


def step(record: ProcessStep, derived: Derived | None) -> dict:
    derived = derived or Derived()
    return {"id": record.id, "kind": record.kind.name, "kind_title": record.kind.title,
            "day_number": record.day_number, "performed_at": record.performed_at, "status": record.status.name,
            "revision": record.revision, "values": [_value(entry) for entry in record.values],
            "calculated": [quantity(value) | {"key": key, "label": LABELS.get(key, key)}
                           for key, value in derived.values.items()],
            "not_calculated": list(derived.problems)}


def dose_unit(record: DoseUnit) -> dict:
    reasons = fitness.unfit_reasons(record)
    return {"id": record.id, "division_code": record.division_code, "kind": record.kind.name,
            "infusion_number": record.infusion_number, "state": record.state.name, "cells": quantity(record.cells),
            "final_volume": quantity(record.final_volume), "expiry_at": record.expiry_at,
            "fit_to_give": not reasons, "not_fit_because": reasons}


def qc_result(view: ResultView) -> dict:
    result = view.result
    return {"id": result.id, "test_key": result.test_key, "sample": result.sample,
            "dose_unit": view.dose.division_code if view.dose else None, "entered": result.entered,
            "value": quantity(result.quantity), "text": result.text, "kind": result.kind.name,
            "status": result.status.name, "outcome": view.evaluation.outcome.value, "reason": view.evaluation.reason,
            "tested_at": result.tested_at, "recorded_at": result.recorded_at, "verified_at": result.verified_at}


def audit_event(event: AuditEvent) -> dict:
    return {"id": event.id, "occurred_at": event.occurred_at, "user_id": event.user_id, "username": event.username,
            "action": event.action, "entity_type": event.entity_type, "entity_id": event.entity_id,
            "scope": event.scope, "changes": json.loads(event.changes), "reason": event.reason}


def disposition(record, dose_codes: dict[int, str], usernames: dict[int, str]) -> dict:
    return {"id": record.id, "dose_unit": dose_codes[record.dose_unit_id], "decision": record.decision.name,
            "decision_title": record.decision.title, "exceptional": record.exceptional, "state": record.state.name,
            "decided_at": record.decided_at, "decided_by": usernames.get(record.decided_by_id, ""),
            "ended_at": record.ended_at, "ended_reason": record.ended_reason}


def stored_document(record, dose_codes: dict[int, str]) -> dict:
    return {"id": record.id, "kind": record.kind.name, "kind_title": record.kind.title,
            "dose_unit": dose_codes.get(record.dose_unit_id) if record.dose_unit_id else None,
            "revision": record.revision, "reason": record.reason, "filename": record.filename, "size": record.size,
            "sha256": record.sha256, "created_at": record.created_at}
