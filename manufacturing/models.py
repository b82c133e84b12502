"""Every table of the application, imported in one place for migrations and relationships."""

from manufacturing.accounts.models import AuthSession, PasswordHistory, User, UserRole
from manufacturing.core.audit import AuditChainHead, AuditEvent
from manufacturing.core.counters import Counter
from manufacturing.core.signatures import Signature
from manufacturing.dispensing.models import Administration, BedsideCheck, Issue
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment, MaterialLot
from manufacturing.patients.models import BodyWeight, InfusionOrder, Subject
from manufacturing.processing.models import DoseUnit, ProcessStep, StepEquipment, StepMaterial, StepValue
from manufacturing.quality.models import Deviation, QcResult
from manufacturing.records.models import LabelPrint, StoredDocument
from manufacturing.release.models import Disposition, ReleaseAlert
from manufacturing.specifications.models import SpecVersion

__all__ = [
    "Administration",
    "AuditChainHead",
    "AuditEvent",
    "AuthSession",
    "BedsideCheck",
    "BodyWeight",
    "Counter",
    "Deviation",
    "Disposition",
    "DoseUnit",
    "Equipment",
    "InfusionOrder",
    "Issue",
    "LabelPrint",
    "Lot",
    "MaterialLot",
    "PasswordHistory",
    "ProcessStep",
    "QcResult",
    "ReleaseAlert",
    "Signature",
    "SpecVersion",
    "StepEquipment",
    "StepMaterial",
    "StepValue",
    "StoredDocument",
    "Subject",
    "User",
    "UserRole",
]
