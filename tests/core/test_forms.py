"""Every form of the application is a LabForm: typed text checked and composed, every date plausible."""

import importlib
import inspect
from pathlib import Path

from flask import request
from flask_wtf import FlaskForm

from manufacturing.core.forms import LabForm, Within

PACKAGE = Path(__file__).resolve().parents[2] / "manufacturing"


def _form_classes() -> list[type]:
    classes = []
    for path in sorted(PACKAGE.rglob("*forms.py")):
        module = importlib.import_module(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        classes += [c for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, FlaskForm) and c is not FlaskForm]
    return classes


def test_every_form_is_a_lab_form():
    classes = _form_classes()
    assert len(classes) > 20
    assert [c.__name__ for c in classes if not issubclass(c, LabForm)] == []


def test_hidden_characters_are_refused_and_text_composed(app):
    from manufacturing.accounts.forms import CreateUserForm, RenameForm

    with app.test_request_context(method="POST", data={"full_name": "Niccolo\u0300", "reason": "a\u202eb"}):
        form = RenameForm(meta={"csrf": False})
        assert not form.validate()
        assert form.full_name.data == "Niccolò" and form.full_name.errors == []
        assert "right-to-left override (U+202E)" in form.reason.errors[0]
    with app.test_request_context(method="POST", data={"username": "adm\u200bin", "full_name": "Ærø 李",
                                                        "roles": "QA"}):
        form = CreateUserForm(meta={"csrf": False})
        assert not form.validate() and form.full_name.errors == [] and "zero-width" in form.username.errors[0]


def test_a_date_field_without_a_kind_is_still_bounded(app):
    from manufacturing.audit.forms import TrailFilterForm

    with app.test_request_context(method="GET", query_string={"date_from": "0001-01-01"}):
        form = TrailFilterForm(request.args)
        assert any(isinstance(v, Within) for v in form.date_from.validators)
        assert not form.validate() and "not plausible" in form.date_from.errors[0]
