"""The shapes of the API's requests and answers (pydantic), from which the OpenAPI document is written."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from manufacturing.core.text import text_problem
from manufacturing.lots.models import LotState

MAX_PAGE = 100
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
LotStateName = Literal[tuple(state.name for state in LotState)]


def _plain_text(value: str | None) -> str | None:
    """Refuse the characters every form refuses (control, bidirectional, invisible)."""
    if value is not None and (problem := text_problem(value)):
        raise ValueError(problem)
    return value


Text = Annotated[str, AfterValidator(_plain_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageQuery(Strict):
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Rows per page (1 to 100).")
    after: RowId | None = Field(None, description="The cursor: `next_after` of the previous page.")


class LotQuery(PageQuery):
    state: LotStateName | None = Field(None, description="Only lots in this state, e.g. IN_CULTURE.")


class AuditQuery(Strict):
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    after: RowId | None = Field(None, description="The cursor: `next_after` of the previous page.")
    entity: str | None = Field(None, max_length=80, description="Kind of record, e.g. lot, qc_result.")
    entity_id: str | None = Field(None, max_length=80)
    scope: str | None = Field(None, max_length=80, description="The record a change belongs to, e.g. lot:12.")
    user: str | None = Field(None, max_length=80, description="Who acted, as the trail names them.")
    action: str | None = Field(None, max_length=80, description="Actions starting with this, e.g. qc_result.")
    date_from: date | None = Field(None, description="From this site date on.")
    date_to: date | None = Field(None, description="Up to and including this site date.")


class Quantity(BaseModel):
    value: float = Field(description="The magnitude in `unit`.")
    unit: str = Field(description="The unit as the project's registry writes it, e.g. 'cell / milliliter'.")
    shown: str = Field(description="As the lab reads it, e.g. '2.35 × 10⁸ cells'.")


class Entered(Quantity):
    entered: str = Field(description="The text as typed.")


class Subject(BaseModel):
    code: str
    initials: str
    sex: str
    site: str
    latest_weight: Quantity | None
    created_at: datetime


class SubjectDetail(Subject):
    lots: list["LotSummary"]


class SubjectPage(BaseModel):
    items: list[Subject]
    next_after: int | None
    notice: str | None = None


class LotSummary(BaseModel):
    id: int
    lot_number: str
    din: str
    state: str
    state_title: str
    subject_code: str
    opened_at: datetime


class Lot(LotSummary):
    spec_id: str
    spec_version: str
    hold_reason: str | None
    cancel_reason: str | None


class LotPage(BaseModel):
    items: list[LotSummary]
    next_after: int | None
    notice: str | None = None


class StepValue(BaseModel):
    key: str
    entered: str
    value: float | None = None
    unit: str | None = None
    text: str | None = None


class Calculated(Quantity):
    key: str
    label: str


class Step(BaseModel):
    id: int
    kind: str
    kind_title: str
    day_number: int | None
    performed_at: datetime
    status: str
    revision: int
    values: list[StepValue]
    calculated: list[Calculated]
    not_calculated: list[str] = Field(description="What could not be calculated, and why.")


class StepList(BaseModel):
    items: list[Step]


class DoseUnit(BaseModel):
    id: int
    division_code: str
    kind: str
    infusion_number: int
    state: str
    cells: Quantity
    final_volume: Quantity
    expiry_at: datetime
    fit_to_give: bool
    not_fit_because: list[str]


class DoseUnitList(BaseModel):
    items: list[DoseUnit]


class Disposition(BaseModel):
    id: int
    dose_unit: str = Field(description="The dose unit's division code.")
    decision: str = Field(description="RELEASED_INTERIM, RELEASED_FINAL or REJECTED.")
    decision_title: str
    exceptional: bool
    state: str = Field(description="Whether the decision stands or was withdrawn.")
    decided_at: datetime
    decided_by: str
    ended_at: datetime | None
    ended_reason: str | None


class DispositionList(BaseModel):
    items: list[Disposition]


class StoredDocument(BaseModel):
    id: int
    kind: str = Field(description="BATCH_RECORD, CERTIFICATE or LABEL.")
    kind_title: str
    dose_unit: str | None = Field(description="The dose unit's division code; null for the lot's batch record.")
    revision: int
    reason: str
    filename: str
    size: int
    sha256: str = Field(description="SHA-256 of the stored bytes, as issued.")
    created_at: datetime


class StoredDocumentList(BaseModel):
    items: list[StoredDocument]


class QcResult(BaseModel):
    id: int
    test_key: str
    sample: str
    dose_unit: str | None = Field(description="The dose unit's division code, or null for the lot's sample.")
    entered: str
    value: Quantity | None
    text: str | None
    kind: str
    status: str
    outcome: str = Field(description="pass, fail, alert or pending, against the lot's pinned specification.")
    reason: str
    tested_at: datetime
    recorded_at: datetime
    verified_at: datetime | None


class QcResultList(BaseModel):
    items: list[QcResult]


class QcResultIn(Strict):
    test_key: Text = Field(min_length=1, max_length=40, description="The test's key in the lot's specification.")
    entered: Text = Field(min_length=1, max_length=80, description="The value with its unit, or the answer.")
    tested_at: AwareDatetime = Field(description="When the test was done, with its UTC offset.")
    dose_unit: Text | None = Field(None, max_length=2, description="Division code of the dose unit, e.g. A0.")
    password: str | None = Field(None, max_length=200, description="Personal tokens: the holder's password, "
                                                                     "to sign the result as performed.")


class StepIn(Strict):
    performed_at: AwareDatetime = Field(description="When the step was done, with its UTC offset.")
    values: dict[Annotated[str, Field(max_length=40)], Annotated[Text, Field(max_length=200)]] = Field(
        default_factory=dict, max_length=20,
        description="The step's values as typed, by field key, with units (e.g. {\"volume\": \"200 mL\"}).")
    materials: dict[Annotated[str, Field(max_length=60)], Annotated[int, Field(ge=1, lt=2**31)]] = Field(
        default_factory=dict, max_length=10, description="Material lot ids, by the role the step names.")
    equipment: dict[Annotated[str, Field(max_length=60)], Annotated[int, Field(ge=1, lt=2**31)]] = Field(
        default_factory=dict, max_length=10, description="Equipment ids, by the role the step names.")
    observations: Text = Field("", max_length=4000)
    password: str = Field(min_length=1, max_length=200, description="The holder's password, to sign as performed.")


class StepImportIn(StepIn):
    file_name: Text = Field(min_length=1, max_length=200, description="The export's file name, as written.")
    file_base64: str = Field(min_length=1, max_length=1_500_000, description="The export's bytes, base64.")
    sample_row: int | None = Field(None, ge=0, lt=100_000,
                                   description="Which sample of the file, from 0; needed when it holds several.")


class AuditEvent(BaseModel):
    id: int
    occurred_at: datetime
    user_id: int | None
    username: str
    action: str
    entity_type: str
    entity_id: str | None
    scope: str | None
    changes: dict
    reason: str | None


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_after: int | None
    notice: str | None = None


class FieldError(BaseModel):
    field: str
    message: str
    in_: str = Field(alias="in")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None


SubjectDetail.model_rebuild()
