"""The import pages tried as a hostile user would: tampered carried files, forged choices, hostile files, the drop
folder, roles and lot states; never a server error, never a wrong file stored."""

import io
import re
import time
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.extensions import db
from manufacturing.instruments import operations
from manufacturing.instruments.models import InstrumentFile
from manufacturing.materials.models import EquipmentKind
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import ProcessStep, StepKind
from tests.instruments.factories import carried
from tests.instruments.factories import day5 as _day5
from tests.instruments.factories import export_file as _file
from tests.instruments.factories import sample as _sample
from tests.materials.factories import register
from tests.processing.test_views import form_data


def _url(lot) -> str:
    return f"/lots/{lot.id}/steps/culture-day/import"


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _counter_field() -> str:
    index = next(i for i, use in enumerate(definition(StepKind.CULTURE_DAY).equipment)
                 if use.kind == EquipmentKind.CELL_COUNTER)
    return f"e_{index}"


def _signed_post(client, bench, lot, upload, at, **extra):
    data = form_data(bench, StepKind.CULTURE_DAY, at)
    data |= carried(upload, 0)
    data |= extra
    with clock.frozen(at + timedelta(minutes=10)):
        return client.post(_url(lot), data=data)


# ---- 2. tampering between preview and signature ------------------------------------------------------------

@pytest.mark.parametrize("row", ["\u00b2", "\u2460"], ids=["superscript-two", "circled-one"])
def test_a_unicode_digit_as_the_carried_row_is_a_clear_refusal(client, login, bench, lot, counter, exports, row):
    """ (robustness): CarriedFile.row() and UploadForm.chosen_row() test str.isdigit() then int(): '²' is a
    digit to isdigit() but int('²') raises ValueError -> 500."""
    login(bench.technician)
    at = _day5(bench)
    upload = _file(exports, _sample(lot.din, at))
    response = _signed_post(client, bench, lot, upload, at, export_row=row)
    assert response.status_code < 500


def test_a_unicode_digit_as_the_chosen_sample_row_is_a_clear_refusal(client, login, bench, lot, counter, exports):
    login(bench.technician)
    at = _day5(bench)
    upload = _file(exports, _sample("OTHER", at), _sample(lot.din, at))
    with clock.frozen(at + timedelta(minutes=10)):
        response = client.post(_url(lot), data=carried(upload) | {"sample_row": "\u00b9"})
    assert response.status_code < 500


@pytest.mark.parametrize("value", ["abc", "99999999999999999999", "-1"])
def test_a_forged_counter_choice_is_a_clear_refusal(client, login, bench, lot, counter, exports, value):
    """ (robustness): operations.chosen_instruments() does int(identifier) on the posted e_N before the form
    is validated: 'abc' -> ValueError -> 500 (a huge number: OverflowError/DataError on PostgreSQL)."""
    login(bench.technician)
    at = _day5(bench)
    upload = _file(exports, _sample(lot.din, at))
    response = _signed_post(client, bench, lot, upload, at, **{_counter_field(): value})
    assert response.status_code < 500
    assert _count(InstrumentFile) == 0


def test_held_a_forged_counter_choice_cannot_replace_the_files_serial(client, login, bench, lot, counter, exports):
    """The file names its serial: another (valid) counter chosen on the form is overridden by the file's."""
    login(bench.technician)
    at = _day5(bench)
    other = bench.equipment[EquipmentKind.CELL_COUNTER]
    upload = _file(exports, _sample(lot.din, at))
    response = _signed_post(client, bench, lot, upload, at, **{_counter_field(): str(other.id)})
    assert response.status_code == 302
    [kept] = db.session.scalars(select(InstrumentFile)).all()
    assert kept.equipment_id == counter.id


def test_held_a_retired_counter_forged_for_a_file_without_serial_is_refused(client, login, bench, lot, exports):
    login(bench.technician)
    at = _day5(bench)
    retired = register(bench.qa, code="CNT-RET", name="Retired counter", kind=EquipmentKind.CELL_COUNTER,
                       due_in_days=365, serial_number="RET-1")
    retired.active = False
    db.session.commit()
    upload = _file(exports, _sample(lot.din, at, serial=None))
    response = _signed_post(client, bench, lot, upload, at, **{_counter_field(): str(retired.id)})
    assert response.status_code in (302, 422)
    assert _count(InstrumentFile) == 0


def test_held_typed_values_over_readonly_fields_are_replaced_by_the_files(client, login, bench, lot, counter,
                                                                          exports):
    login(bench.technician)
    at = _day5(bench)
    upload = _file(exports, _sample(lot.din, at))
    response = _signed_post(client, bench, lot, upload, at, v_concentration="9 x 10^6 cells/mL",
                            v_viability="99 %")
    assert response.status_code == 302
    step = db.session.scalars(select(ProcessStep).order_by(ProcessStep.id.desc())).first()
    assert step.value("concentration").entered.startswith("2500000.0")
    assert step.value("viability").entered.startswith("92.0")


@pytest.mark.parametrize("row", ["-1", "5", "000000"])
def test_held_a_row_out_of_range_is_refused(client, login, bench, lot, counter, exports, row):
    login(bench.technician)
    at = _day5(bench)
    upload = _file(exports, _sample("OTHER", at), _sample(lot.din, at))
    response = _signed_post(client, bench, lot, upload, at, export_row=row)
    assert response.status_code in (302, 422)
    assert _count(InstrumentFile) == 0


def test_held_an_oversized_carried_file_is_refused(client, login, bench, lot, counter, exports):
    login(bench.technician)
    at = _day5(bench)
    big = b"x" * (1024 * 1024 + 10)
    exports[big] = exports[_file(exports, _sample(lot.din, at)).content]
    response = _signed_post(client, bench, lot, operations.Upload("big.csv", big), at)
    assert response.status_code in (302, 413, 422)
    assert _count(InstrumentFile) == 0


# ---- 6. roles ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["qa", "pharmacist"])
def test_held_only_technicians_sign_a_step_import(client, login, bench, lot, counter, exports, who):
    login(getattr(bench, who))
    at = _day5(bench)
    upload = _file(exports, _sample(lot.din, at))
    response = _signed_post(client, bench, lot, upload, at, sign_username=getattr(bench, who).username)
    assert response.status_code == 403
    assert _count(InstrumentFile) == 0


def test_held_pharmacy_cannot_import_qc(client, login, bench, lot):
    login(bench.pharmacist)
    assert client.post(f"/lots/{lot.id}/qc/import", data={"sign_password": "x"}).status_code == 403


def test_held_another_lots_file_is_not_served(client, login, bench, lot, counter, exports):
    login(bench.technician)
    at = _day5(bench)
    assert _signed_post(client, bench, lot, _file(exports, _sample(lot.din, at)), at).status_code == 302
    [kept] = db.session.scalars(select(InstrumentFile)).all()
    assert client.get(f"/lots/{lot.id + 1}/instrument-files/{kept.id}").status_code == 404
    assert client.get(f"/lots/{lot.id}/instrument-files/{kept.id + 1}").status_code == 404


# ---- 8. hostile files through the page, the real reader -----------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<bdfacs version="6.1.3"><experiment name="&lol9;"></experiment></bdfacs>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bdfacs version="6.1.3"><experiment name="&xxe;"><specimen name="S"><tube name="&xxe;"></tube></specimen>
</experiment></bdfacs>"""


def _zip_bomb() -> bytes:
    """An .xlsx-shaped zip, under 1 MB, whose sheet inflates to ~1 GB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                         'package/2006/content-types"/>')
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * (1024 * 1024)
            for _ in range(900):
                sheet.write(chunk)
    return out.getvalue()


def _many_rows() -> bytes:
    header = export_bytes_header()
    line = b"1,2,3,4,5\n"
    return header + line * ((1000 * 1024 - len(header)) // len(line))


def export_bytes_header() -> bytes:
    from tests.instruments.exports import export_bytes
    return export_bytes("vi_cell_blu.csv").split(b"\n", 1)[0] + b"\n"


def _many_samples_xlsx(count: int = 12000) -> bytes:
    """The Vi-CELL XR workbook with its last row repeated `count` times: a valid export under 1 MB."""
    import re

    from tests.instruments.exports import export_bytes
    source = zipfile.ZipFile(io.BytesIO(export_bytes("vi_cell_xr.xlsx")))
    sheet = next(name for name in source.namelist() if name.startswith("xl/worksheets/sheet"))
    xml = source.read(sheet).decode()
    found = re.search(r"<sheetData>(.*)</sheetData>", xml, re.S)
    last = re.findall(r"<row [^>]*>.*?</row>", found.group(1), re.S)[-1]
    extra = "".join(re.sub(r'r="(\D+)?(\d+)"', lambda m, n=n: f'r="{m.group(1) or ""}{1000 + n}"', last)
                    for n in range(count))
    xml = re.sub(r'<dimension ref="[^"]*"/>', "", xml.replace(found.group(0),
                                                             f"<sheetData>{found.group(1)}{extra}</sheetData>"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in source.namelist():
            archive.writestr(name, xml if name == sheet else source.read(name))
    return out.getvalue()


HOSTILE = {
    "billion-laughs.xml": lambda: BILLION_LAUGHS,
    "xxe.xml": lambda: EXTERNAL_ENTITY,
    "bomb.xlsx": _zip_bomb,
    "garbage.csv": lambda: bytes(range(256)) * 3000,
    "garbage.xlsx": lambda: b"PK\x03\x04" + bytes(range(256)) * 100,
    "garbage.txt": lambda: b"\xff\xfe" + "\u0000".encode("utf-16-le") * 1000,
    "many-rows.csv": _many_rows,
    "empty-looking.wsp": lambda: b"<?xml version='1.0'?><Workspace/>",
    "many-samples.xlsx": _many_samples_xlsx,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_is_a_clear_refusal_in_time(client, login, bench, lot, name):
    login(bench.technician)
    content = HOSTILE[name]()
    assert len(content) <= 1024 * 1024, len(content)
    started = time.monotonic()
    response = client.post(_url(lot), data={"export": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")
    elapsed = time.monotonic() - started
    page = response.get_data(as_text=True)
    assert elapsed < 20, f"{name} took {elapsed:.1f} s"
    assert response.status_code == 422, page[:500]
    assert "root:" not in page
    assert elapsed < 20, f"{name} took {elapsed:.1f} s"
    assert _count(InstrumentFile) == 0


# ---- 9. drop folder ----------------------------------------------------------------------------------------

@pytest.fixture
def drop(app, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    app.config["INSTRUMENT_DROP_FOLDER"] = str(folder)
    yield folder
    app.config["INSTRUMENT_DROP_FOLDER"] = None


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..", ".hidden.csv", "drop/../x.csv"])
def test_held_the_drop_folder_serves_only_its_listed_files(client, login, bench, lot, drop, name):
    (drop / ".hidden.csv").write_bytes(b"x")
    login(bench.technician)
    response = client.post(_url(lot), data={"folder_file": name})
    assert response.status_code == 422
    assert "no longer in the instruments" in response.get_data(as_text=True)


def test_held_an_oversized_drop_folder_file_is_refused(client, login, bench, lot, drop):
    (drop / "huge.csv").write_bytes(b"a" * (3 * 1024 * 1024))
    login(bench.technician)
    response = client.post(_url(lot), data={"folder_file": "huge.csv"})
    assert response.status_code == 422 and "larger than" in response.get_data(as_text=True)


def test_a_symlink_in_the_drop_folder_reads_a_file_outside_it(client, login, bench, lot, drop, tmp_path):
    """ (low, needs write access to the folder): _files() keeps is_file() entries, which follows symlinks: a
    link in the drop folder to any file the server can read is offered and read (then its bytes are stored)."""
    secret = tmp_path / "secret.csv"
    secret.write_bytes(b"secret,data\n1,2\n")
    (drop / "link.csv").symlink_to(secret)
    login(bench.technician)
    page = client.get(_url(lot)).get_data(as_text=True)
    assert "link.csv" not in page


def test_the_stored_file_name_is_the_one_uploaded_not_one_posted_at_signature(client, login, bench, lot, counter,
                                                                              exports):
    """The name travels with the file under the server's seal: a name changed on the page is refused."""
    login(bench.technician)
    at = _day5(bench)
    upload = _file(exports, _sample(lot.din, at))
    response = _signed_post(client, bench, lot, upload, at, export_name="../NK-2026-0999_FACSDiva_release.csv")
    assert response.status_code == 302
    assert _count(InstrumentFile) == 0
    assert _signed_post(client, bench, lot, upload, at).status_code == 302
    [kept] = db.session.scalars(select(InstrumentFile)).all()
    assert kept.filename == upload.filename


@pytest.mark.parametrize("prefix", ["din", "other"])
def test_held_a_sample_id_with_markup_is_escaped(client, login, bench, lot, counter, exports, prefix):
    login(bench.technician)
    at = _day5(bench)
    start = lot.din if prefix == "din" else "G123426000999"
    upload = _file(exports, _sample(f"{start} <img src=x onerror=alert(1)>", at))
    with clock.frozen(at + timedelta(minutes=10)):
        page = client.post(_url(lot), data={"export": (io.BytesIO(upload.content), upload.filename)},
                           content_type="multipart/form-data").get_data(as_text=True)
    assert "<img src=x" not in page


def test_a_flow_export_without_serial_can_be_imported_as_qc_results(client, login, prepared, exports):
    """ (robustness): a flow export that gives no serial number (FlowJo .wsp, a supported format) is refused
    on the QC import page with 'choose the flow cytometer that made it', but ResultsForm has no instrument field:
    such a file can never be imported as QC results."""
    from manufacturing.processing.models import DoseUnit
    from tests.instruments.factories import FLOW
    bench, lot = prepared.bench, prepared.lot
    login(bench.technician)
    [dose] = db.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == lot.id)).all()
    at = dose.step.performed_at + timedelta(hours=1)
    upload = _file(exports, _sample(lot.lot_number, at, FLOW, None, "Flow cytometer (FlowJo analysis)"))
    with clock.frozen(at + timedelta(minutes=10)):
        response = client.post(f"/lots/{lot.id}/qc/import", data={"export": (io.BytesIO(upload.content), "x.wsp")},
                               content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, re.sub(r"\s+", " ", page)[page.find("flash"):][:300]


def test_a_file_the_counter_left_in_the_folder_is_listed_and_read(client, login, bench, lot, counter, exports, drop):
    at = _day5(bench)
    upload = _file(exports, _sample(lot.din, at))
    (drop / "count-0042.csv").write_bytes(upload.content)
    login(bench.technician)
    with clock.frozen(at + timedelta(minutes=10)):
        page = client.get(_url(lot)).get_data(as_text=True)
        assert "count-0042.csv" in page
        preview = client.post(_url(lot), data={"folder_file": "count-0042.csv"})
    assert preview.status_code == 200 and upload.sha256 in preview.get_data(as_text=True)
