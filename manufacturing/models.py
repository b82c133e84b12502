"""Every table of the application, imported in one place for migrations and relationships."""

from manufacturing.accounts.models import AuthSession, LoginThrottle, PasswordHistory, User, UserRole
from manufacturing.api.models import ApiToken
from manufacturing.core.audit import AuditChainHead, AuditEvent
from manufacturing.core.checkpoints import AuditCheckpoint
from manufacturing.core.counters import Counter
from manufacturing.core.signatures import Signature
from manufacturing.dispensing.models import Administration, BedsideCheck, Issue
from manufacturing.instruments.models import InstrumentFile, InstrumentValue

# The transition tables guard every state column from the moment the models are loaded.
from manufacturing.lots import states as lot_states  # noqa: F401
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment, MaterialLot
from manufacturing.patients.models import BodyWeight, InfusionOrder, StudyStop, Subject
from manufacturing.processing import states as processing_states  # noqa: F401
from manufacturing.processing.models import DoseUnit, ProcessStep, StepEquipment, StepMaterial, StepValue
from manufacturing.quality import states as quality_states  # noqa: F401
from manufacturing.quality.models import Deviation, QcResult
from manufacturing.records.models import DocumentJob, StoredDocument
from manufacturing.release import states as release_states  # noqa: F401
from manufacturing.release.models import Disposition, LabelPrint, LabelVoid, ReleaseAlert
from manufacturing.reports.models import StoredTrialReport
from manufacturing.specifications.models import SpecVersion

__all__ = [
    "Administration",
    "ApiToken",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthSession",
    "BedsideCheck",
    "BodyWeight",
    "Counter",
    "Deviation",
    "Disposition",
    "DocumentJob",
    "DoseUnit",
    "Equipment",
    "InfusionOrder",
    "InstrumentFile",
    "InstrumentValue",
    "Issue",
    "LabelPrint",
    "LabelVoid",
    "LoginThrottle",
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
    "StoredTrialReport",
    "StudyStop",
    "Subject",
    "User",
    "UserRole",
]
