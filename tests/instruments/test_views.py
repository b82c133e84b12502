"""The import pages: upload, preview beside the fields, sign; refusals on the page with nothing stored; downloads."""

import io
import re
from datetime import timedelta

from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.extensions import db
from manufacturing.instruments.models import InstrumentFile
from manufacturing.processing.models import ProcessStep, StepKind
from tests.instruments.factories import carried
from tests.instruments.factories import day5 as _day5
from tests.instruments.factories import export_file as _file
from tests.instruments.factories import sample as _sample
from tests.processing.test_views import form_data


def _url(lot) -> str:
    return f"/lots/{lot.id}/steps/culture-day/import"


def _upload(client, lot, upload):
    return client.post(_url(lot), data={"export": (io.BytesIO(upload.content), upload.filename)},
                       content_type="multipart/form-data")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_import_page_is_for_technicians(client, login, bench, lot):
    login(bench.qa)
    assert client.get(_url(lot)).status_code == 403
    login(bench.technician)
    page = client.get(_url(lot))
    assert page.status_code == 200 and "Vi-CELL BLU" in page.get_data(as_text=True)
    assert client.get(f"/lots/{lot.id}/steps/cd3-depletion/import").status_code == 404


def test_upload_preview_and_sign(client, login, bench, lot, counter, exports):
    login(bench.technician)
    at = _day5(bench)
    upload = _file(exports, _sample(f"{lot.din}-D5", at + timedelta(minutes=3)))
    with clock.frozen(at + timedelta(minutes=10)):
        preview = _upload(client, lot, upload)
        page = preview.get_data(as_text=True)
        assert preview.status_code == 200, page
        assert f"{lot.din}-D5" in page and "VCB-0042" in page and upload.sha256 in page
        assert re.search(r'name="v_concentration"[^>]*readonly', page) or re.search(
            r'readonly[^>]*name="v_concentration"', page)
        data = form_data(bench, StepKind.CULTURE_DAY, at, concentration="1 x 10^6 cells/mL")
        data |= carried(upload, 0)
        signed = client.post(_url(lot), data=data)
    assert signed.status_code == 302, signed.get_data(as_text=True)
    step = db.session.scalars(select(ProcessStep).order_by(ProcessStep.id.desc())).first()
    assert step.kind == StepKind.CULTURE_DAY and step.value("concentration").entered.startswith("2500000.0")
    [kept] = db.session.scalars(select(InstrumentFile)).all()
    lot_page = client.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert kept.filename in lot_page and kept.sha256 in lot_page
    download = client.get(f"/lots/{lot.id}/instrument-files/{kept.id}")
    assert download.status_code == 200 and download.data == upload.content


def test_a_file_of_another_lot_is_refused_on_the_page(client, login, bench, lot, counter, exports):
    login(bench.technician)
    at = _day5(bench)
    steps, kept = _count(ProcessStep), _count(InstrumentFile)
    with clock.frozen(at + timedelta(minutes=10)):
        refused = _upload(client, lot, _file(exports, _sample("G123426000999", at)))
    assert refused.status_code == 422
    assert "does not name lot" in refused.get_data(as_text=True)
    assert (_count(ProcessStep), _count(InstrumentFile)) == (steps, kept)


def test_a_tampered_carried_file_is_read_again_and_refused(client, login, bench, lot, counter, exports):
    login(bench.technician)
    at = _day5(bench)
    other = _file(exports, _sample("G123426000999", at))
    with clock.frozen(at + timedelta(minutes=10)):
        data = form_data(bench, StepKind.CULTURE_DAY, at)
        for seal in (carried(other)["export_seal"][::-1], "é" * 64):
            forged = carried(other) | {"export_seal": seal}
            response = client.post(_url(lot), data=data | forged, follow_redirects=True)
            assert "changed after it was read" in response.get_data(as_text=True)
        response = client.post(_url(lot), data=data | carried(other), follow_redirects=True)
    assert "does not name lot" in response.get_data(as_text=True)
    assert _count(InstrumentFile) == 0


def test_a_file_of_several_samples_asks_which(client, login, bench, lot, counter, exports):
    login(bench.technician)
    at = _day5(bench)
    upload = _file(exports, _sample("OTHER-1", at), _sample(lot.din, at + timedelta(minutes=1)))
    with clock.frozen(at + timedelta(minutes=10)):
        asked = _upload(client, lot, upload)
        page = asked.get_data(as_text=True)
        assert "choose the row" in page and "OTHER-1" in page
        chosen = client.post(_url(lot), data=carried(upload) | {"sample_row": "1"})
    assert chosen.status_code == 200 and 'name="sign_password"' in chosen.get_data(as_text=True)


def test_garbage_in_the_carried_file_is_a_clear_refusal(client, login, bench, lot):
    login(bench.technician)
    response = client.post(_url(lot), data={"export_data": "%%%not base64", "export_name": "x", "export_seal": "0"})
    assert response.status_code == 422
    assert "damaged" in response.get_data(as_text=True)
