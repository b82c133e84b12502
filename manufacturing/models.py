"""Every table of the application, imported in one place for migrations and relationships."""

from manufacturing.accounts.models import AuthSession, PasswordHistory, User, UserRole
from manufacturing.core.audit import AuditChainHead, AuditEvent
from manufacturing.core.counters import Counter
from manufacturing.core.signatures import Signature
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment, MaterialLot
from manufacturing.patients.models import BodyWeight, InfusionOrder, Subject
from manufacturing.processing.models import DoseUnit, ProcessStep, StepEquipment, StepMaterial, StepValue
from manufacturing.quality.models import Deviation
from manufacturing.release.models import SpecVersion

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "AuthSession",
    "BodyWeight",
    "Counter",
    "Deviation",
    "DoseUnit",
    "Equipment",
    "InfusionOrder",
    "Lot",
    "MaterialLot",
    "PasswordHistory",
    "ProcessStep",
    "Signature",
    "SpecVersion",
    "StepEquipment",
    "StepMaterial",
    "StepValue",
    "Subject",
    "User",
    "UserRole",
]
