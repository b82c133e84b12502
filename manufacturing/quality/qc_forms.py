"""QC result forms: a result entered per test and sample, and the verification signature."""

from collections.abc import Mapping
from datetime import datetime

from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from manufacturing.core import clock
from manufacturing.core.forms import LabForm, SignatureFields, Within
from manufacturing.quality.models import QcKind
from manufacturing.quality.qc import QcSheet, ResultView, answers
from manufacturing.quality.results import is_computed, is_lot_test
from manufacturing.specifications.model import ProductSpec, QualitativeCriterion
from manufacturing.units import format_quantity

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
PREFILLED = ("test_key", "dose_unit", "kind", "retest_of")


class ResultForm(SignatureFields, LabForm):
    test_key = SelectField("Test", validators=[DataRequired("Choose the test.")])
    dose_unit = SelectField("Dose unit", validators=[Optional()])
    value = StringField("Measured value, with its unit", validators=[Optional(), Length(max=80)],
                        render_kw={"placeholder": "e.g. 92 %, 6.2 × 10⁷ cells, 0.5 EU/mL", "autocomplete": "off"})
    answer = SelectField("Or the answer (qualitative tests)", validators=[Optional()])
    tested_at = DateTimeLocalField("Date and time of the test (site time)", format=DATETIME_FORMAT,
                                   validators=[DataRequired("Give the date and time of the test."), Within("bench")])
    kind = SelectField("Kind of result", choices=[SelectChoice(kind.name, kind.title) for kind in QcKind])
    retest_of = SelectField("Retest or recalculation of", validators=[Optional()])
    comment = TextAreaField("Comment (for a retest or recalculation: why it was done)",
                            validators=[Optional(), Length(max=4000)])

    def validate(self, extra_validators=None) -> bool:
        """Check the fields, then that exactly one of value and answer is given, for the test chosen."""
        valid = super().validate(extra_validators)
        problem = self._entry_problem()
        if problem:
            self.answer.errors.append(problem)
        return valid and not problem

    def _entry_problem(self) -> str | None:
        typed, chosen = (self.value.data or "").strip(), self.answer.data or ""
        if bool(typed) == bool(chosen):
            return "Enter a measured value or choose an answer: one of the two."
        if chosen and chosen.partition("|")[0] != self.test_key.data:
            return "This answer belongs to another test: choose an answer of the test selected."
        return None

    def entered(self) -> str:
        """Return the result as entered: the value typed, or the answer chosen."""
        return (self.value.data or "").strip() or self.answer.data.partition("|")[2]

    def tested_at_utc(self) -> datetime:
        return clock.local_from_naive(self.tested_at.data)

    def kind_value(self) -> QcKind:
        return QcKind[self.kind.data]


class VerifyForm(SignatureFields, LabForm):
    pass


def _result_label(view: ResultView, spec: ProductSpec) -> str:
    result = view.result
    shown = format_quantity(result.quantity) if result.quantity is not None else result.text
    sample = view.dose.division_code if view.dose else "lot"
    return (f"#{result.id} {sample} · {spec.criterion(result.test_key).name}: {shown} "
            f"({result.kind.title.lower()}, {clock.format_local(result.tested_at)})")


def _choices(sheet: QcSheet) -> dict[str, list[SelectChoice]]:
    tests = [criterion for criterion in sheet.spec.release if not is_computed(criterion)]
    sample_of = {True: "once for the lot", False: "per dose unit"}
    return {
        "test_key": [SelectChoice("", "— choose —")] + [
            SelectChoice(c.key, f"{c.name} ({c.sample}, {sample_of[is_lot_test(c)]})") for c in tests],
        "dose_unit": [SelectChoice("", "None: lot-wide sample")] + [
            SelectChoice(str(d.dose.id), f"{d.dose.division_code} ({d.dose.kind.title.lower()}, infusion "
                                         f"{d.dose.infusion_number})") for d in sheet.doses],
        "answer": [SelectChoice("", "— a measured value instead —")] + [
            SelectChoice(f"{c.key}|{answer}", f"{c.name}: {answer}") for c in tests
            if isinstance(c, QualitativeCriterion) for answer in answers(c)],
        "retest_of": [SelectChoice("", "— not a retest —")] + [
            SelectChoice(str(view.result.id), _result_label(view, sheet.spec)) for view in sheet.results],
    }


def result_form(sheet: QcSheet, formdata=None, prefill: Mapping[str, str] | None = None) -> ResultForm:
    """Build the entry form for a lot; on first view it may be pre-filled (e.g. to retest a result)."""
    data = {"tested_at": clock.to_local(clock.now()).replace(tzinfo=None, second=0, microsecond=0)}
    data |= {key: value for key, value in (prefill or {}).items() if key in PREFILLED}
    form = ResultForm(formdata=formdata, data=data)
    for name, choices in _choices(sheet).items():
        form[name].choices = choices
    return form
