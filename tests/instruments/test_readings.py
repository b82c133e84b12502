"""Instrument exports read into samples: the values allotropy's expected ASM gives, in the registry's units."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manufacturing.core import clock
from manufacturing.instruments import readings
from manufacturing.instruments.populations import parse_populations
from manufacturing.instruments.readings import READERS, InstrumentExport, UnreadableExport, read_export
from manufacturing.units import Q_
from tests.instruments import exports

CELLS_PER_ML = "cell / milliliter"


def _values(total: float, viable: float, viability: float) -> dict:
    return {"total_concentration": Q_(total, CELLS_PER_ML), "viable_concentration": Q_(viable, CELLS_PER_ML),
            "viability": Q_(viability, "percent")}


def _at(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


# Each file: reader, number of samples, the first sample as allotropy's expected ASM gives it, times in UTC
# (the files' naive times are the site's time, Europe/Rome; NucleoView writes its offset, +02:00).
CELL_COUNTERS = {
    "vi_cell_blu.csv": ("BECKMAN_VI_CELL_BLU", 2, exports.VI_CELL_BLU_IDS[0], _at(2021, 9, 20, 14, 28),
                        "Beckman Coulter Vi-CELL BLU", "Vi-Cell BLU", None, "Vi-Cell BLU",
                        _values(0.75e6, 0.69e6, 92.03)),
    "vi_cell_xr.txt": ("BECKMAN_VI_CELL_XR", 1, exports.VI_CELL_XR_ID, _at(2023, 9, 29, 3, 21, 32),
                       "Beckman Coulter Vi-CELL XR", "Vi-Cell XR", "AW123456789", "Vi-Cell XR 2.06",
                       _values(90.2e6, 87.4e6, 97.0)),
    "vi_cell_xr.xlsx": ("BECKMAN_VI_CELL_XR", 4, "CLB001", _at(2023, 3, 2, 7, 31, 38),
                        "Beckman Coulter Vi-CELL XR", "Vi-Cell XR", "AV123456789", "Vi-Cell XR 2.06",
                        _values(3.1e6, 3.06e6, 98.4)),
    "nucleoview_nc200.csv": ("CHEMOMETEC_NUCLEOVIEW", 1, exports.NUCLEOVIEW_ID, _at(2023, 11, 20, 14, 30, 16),
                             "ChemoMetec NucleoCounter NC-200", "NucleoView NC-200", "9000201099909999",
                             "NucleoView 1.4.2.0", _values(3.58e6, 2.45e6, 68.2)),
    "nc_view.csv": ("CHEMOMETEC_NC_VIEW", 3, exports.NC_VIEW_IDS[0], _at(2024, 2, 18, 23, 0),
                    "ChemoMetec NucleoCounter (NC-View)", None, "9002020102201902", "NC-View",
                    _values(274000, 124000, 45.1)),
    "cedex_hires.csv": ("ROCHE_CEDEX_HIRES", 2, exports.CEDEX_HIRES_IDS[0], _at(2019, 6, 18, 5, 46, 47),
                        "Roche Cedex HiRes", "Cedex HiRes", None, "Cedex software",
                        _values(4753276, 4529542.5, 95.29307556)),
}


@pytest.mark.parametrize("name", CELL_COUNTERS)
def test_a_cell_counter_export_reads_to_its_expected_values(name):
    reader, count, sample_id, analysed_at, instrument, model, serial, software, values = CELL_COUNTERS[name]
    export = read_export(name, exports.export_bytes(name))
    assert isinstance(export, InstrumentExport)
    assert export.reader == reader
    assert len(export.samples) == count
    sample = export.samples[0]
    assert (sample.sample_id, sample.analysed_at, sample.instrument) == (sample_id, analysed_at, instrument)
    assert (sample.model, sample.serial_number, sample.software) == (model, serial, software)
    assert sample.analysed_at.tzinfo is UTC
    assert sample.values.keys() == values.keys()
    for key, expected in values.items():
        assert sample.values[key].units == expected.units
        assert sample.values[key].magnitude == pytest.approx(expected.magnitude, rel=1e-12)


def test_a_value_in_millions_of_cells_per_ml_is_exact_in_cells_per_ml():
    # ASM gives "0.78 10^6 cells/mL" and the like: scaled as decimals, not by a float product (0.69 * 1e6).
    sample = read_export("a.csv", exports.vi_cell_blu_export()).samples[0]
    assert sample.values["viable_concentration"].magnitude == 690000.0
    assert str(sample.values["viable_concentration"].units) == "cell / milliliter"
    assert sample.values["viable_concentration"].to("cell / microliter").magnitude == pytest.approx(690)


def test_every_sample_of_a_multi_sample_export_is_read():
    export = read_export("counts.csv", exports.export_bytes("nc_view.csv"))
    assert [sample.sample_id for sample in export.samples] == list(exports.NC_VIEW_IDS)
    assert [sample.values["viability"] for sample in export.samples] == [Q_(45.1, "%"), Q_(49, "%"), Q_(65.3, "%")]
    assert export.sample(exports.NC_VIEW_IDS[2]).values["total_concentration"] == Q_(379000, CELLS_PER_ML)
    assert export.sample("NK-2026-9999-D7") is None


def test_flow_populations_are_percentages_of_the_lymphocytes():
    export = read_export("panel.xml", exports.export_bytes("facsdiva_nk_panel.xml"))
    assert export.reader == "BD_BIOSCIENCES_FACSDIVA"
    first, unrecorded = export.samples
    assert (first.sample_id, unrecorded.sample_id) == exports.FACSDIVA_IDS
    assert first.analysed_at == _at(2019, 5, 3, 11, 11, 54)
    assert (first.instrument, first.model, first.serial_number, first.software) == (
        "BD flow cytometer (FACSDiva)", "FACSAriaII", "1", "BD FACSDiva Version 8.0.2")
    assert first.values.keys() == {"nk_fraction", "cd3_fraction", "cd19_fraction"}
    for key, count in {"cd3_fraction": 8409, "nk_fraction": 1408, "cd19_fraction": 389}.items():
        assert first.values[key].units == Q_(1, "percent").units
        assert first.values[key].magnitude == pytest.approx(count / 9685 * 100)
    assert unrecorded.values == {}  # a tube without events gives no percentage, not 0 %


def test_a_flowjo_workspace_gives_its_tube_name_and_the_populations_it_gates():
    export = read_export("analysis.wsp", exports.export_bytes("flowjo_nk_panel.wsp"))
    assert export.reader == "FLOWJO"
    (sample,) = export.samples
    assert (sample.sample_id, sample.batch_id) == (exports.FLOWJO_ID, None)  # not FlowJo's sample number, 33
    assert sample.analysed_at == _at(2021, 12, 10, 16, 28, 48)
    assert (sample.instrument, sample.model, sample.serial_number, sample.software) == (
        "Flow cytometer (FlowJo analysis)", "FACSCelesta", None, "FlowJo 10.10.0")
    assert sample.values.keys() == {"cd3_fraction"}  # no NK or B cell gate in this analysis
    assert sample.values["cd3_fraction"].magnitude == pytest.approx(6891 / 39426 * 100)  # Lymphocytes > ... > CD3+


def test_the_batch_id_is_the_specimen_or_the_reactor():
    assert read_export("p.xml", exports.facsdiva_export()).samples[0].batch_id == "20190503"
    assert read_export("c.csv", exports.cedex_hires_export()).samples[0].batch_id == "TechDev_CD_N-1"
    assert read_export("b.csv", exports.vi_cell_blu_export()).samples[0].batch_id is None


def _populations(of: str) -> bytes:
    return "\n".join(f'[{key}]\npopulations = ["{name}"]\nof = {of}' for key, name in (
        ("nk_fraction", "CD56+CD3-"), ("cd3_fraction", "cd3 +"), ("cd19_fraction", "CD19+"))).encode()


def test_population_names_and_their_reference_gate_come_from_the_site_file(monkeypatch):
    monkeypatch.setattr(readings, "flow_populations", lambda: parse_populations(_populations('["P3"]')))
    values = read_export("panel.xml", exports.facsdiva_export()).samples[0].values
    assert values["cd3_fraction"].magnitude == pytest.approx(84.09)  # 8409 of the 10000 events of P3
    monkeypatch.setattr(readings, "flow_populations", lambda: parse_populations(_populations('"parent"')))
    values = read_export("panel.xml", exports.facsdiva_export()).samples[0].values
    assert values["cd3_fraction"].magnitude == pytest.approx(8409 / 9685 * 100)


def test_two_gates_with_one_population_name_are_refused(monkeypatch):
    content = exports.facsdiva_export().replace(b"\\P5", b"\\CD3+").replace(b"<name>P5<", b"<name>CD3+<")
    with pytest.raises(UnreadableExport, match="two gates are named as T cells"):
        read_export("panel.xml", content)


def test_naive_instrument_times_are_the_site_time(monkeypatch):
    monkeypatch.setattr(clock, "site_zone", lambda: ZoneInfo("America/New_York"))
    sample = read_export("a.csv", exports.vi_cell_blu_export()).samples[0]
    assert sample.analysed_at == _at(2021, 9, 20, 20, 28)  # 16:28 EDT
    nucleoview = read_export("n.csv", exports.nucleoview_export()).samples[0]
    assert nucleoview.analysed_at == _at(2023, 11, 20, 14, 30, 16)  # the file's own offset wins


def test_dates_are_read_in_the_site_locale():
    content = exports.vi_cell_blu_export().replace(b'"9/20/2021 16:28"', b'"9/10/2021 16:28"')
    assert read_export("a.csv", content).samples[0].analysed_at == _at(2021, 9, 10, 14, 28)  # allotropy: US
    assert read_export("a.csv", content, locale="it_IT").samples[0].analysed_at == _at(2021, 10, 9, 14, 28)


def test_the_site_locale_and_zone_are_settings_of_the_application():
    from flask import Flask

    app = Flask("settings")
    app.config.update(INSTRUMENT_LOCALE="it_IT", SITE_TIMEZONE="UTC")
    content = exports.vi_cell_blu_export().replace(b'"9/20/2021 16:28"', b'"9/10/2021 16:28"')
    with app.app_context():
        assert read_export("a.csv", content).samples[0].analysed_at == _at(2021, 10, 9, 16, 28)


COUNTING = "cell counting aggregate document"


@pytest.mark.parametrize(("document", "message"), [
    ({COUNTING: {"cell counting document": [{}]}}, "a.csv could not be read: its Vi-CELL BLU results are incomplete"),
    ({COUNTING: {"cell counting document": []}}, "a.csv holds no sample results"),
    ({"plate reader aggregate document": {}}, "Vi-CELL BLU exports hold no results this site reads"),
    ({COUNTING: {"cell counting document": [{"measurement aggregate document": {"measurement document": [{
        "sample document": {"sample identifier": "S1"}, "measurement time": "2026-01-02T10:00:00+00:00",
        "processed data aggregate document": {"processed data document": [
            {"viability (cell counter)": {"value": 0.9, "unit": "(unitless)"}}]}}]}}]}},
     r"a value is in a unit this site does not read \(\(unitless\)\)"),
    ({COUNTING: {"cell counting document": [{"measurement aggregate document": {"measurement document": [{
        "sample document": {"sample identifier": "S1"}, "measurement time": "1970-01-01"}]}}]}},
     "Sample S1 has no time of analysis"),
])
def test_an_asm_document_of_an_unexpected_shape_is_refused(monkeypatch, document, message):
    monkeypatch.setattr(readings, "_converted", lambda *_: (document, READERS[0]))
    with pytest.raises(UnreadableExport, match=message):
        read_export("a.csv", b"anything")


def _counting(serial: str) -> dict:
    sample = {"sample document": {"sample identifier": "S1"}, "measurement time": "2026-01-02T10:00:00+01:00"}
    counting = {"measurement aggregate document": {"measurement document": [sample]}}
    return {COUNTING: {"device system document": {"equipment serial number": serial},
                       "cell counting document": [counting]}}


@pytest.mark.parametrize(("serial", "expected"), [
    ("s/n 9000201099909999", "9000201099909999"), ("S/N: 9002020102201902", "9002020102201902"),
    ("SN12345", "SN12345"), ("AW123456789", "AW123456789"), ("N/A", None), ("", None)])
def test_the_serial_number_loses_a_written_s_n_only(monkeypatch, serial, expected):
    monkeypatch.setattr(readings, "_converted", lambda *_: (_counting(serial), READERS[0]))
    sample = read_export("a.csv", b"anything").samples[0]
    assert (sample.serial_number, sample.analysed_at, sample.values) == (expected, _at(2026, 1, 2, 9, 0), {})


HELPERS = [(exports.vi_cell_blu_export, "a.csv"), (exports.vi_cell_xr_export, "a.txt"),
           (exports.vi_cell_xr_xlsx_export, "a.xlsx"), (exports.nc_view_export, "a.csv"),
           (exports.cedex_hires_export, "a.csv"), (exports.facsdiva_export, "a.xml"),
           (exports.flowjo_export, "a.wsp")]


@pytest.mark.parametrize(("helper", "name"), HELPERS, ids=[helper.__name__ for helper, _ in HELPERS])
@pytest.mark.parametrize("sample_id", ["=G1234 26 200001", "G123426200001", 'NK "2026", 0001; D7 <&>'])
def test_the_export_helpers_write_any_sample_id(helper, name, sample_id):
    assert read_export(name, helper(sample_id)).samples[0].sample_id == sample_id


def test_the_nucleoview_helper_writes_an_id_without_dashes_only():
    assert read_export("n.csv", exports.nucleoview_export("G1234 26 200001")).samples[0].sample_id == "G1234 26 200001"
    with pytest.raises(ValueError, match="cannot hold"):
        exports.nucleoview_export("NK-2026-0001-D7")


SUPPORTED = "Vi-CELL BLU, Vi-CELL XR, NucleoView NC-200, NC-View, Cedex HiRes, FACSDiva XML, FlowJo workspace"
REFUSED = {
    "empty": ("a.csv", b"", "a.csv is empty"),
    "pdf": ("report.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n", f"not an export this site reads: {SUPPORTED}"),
    "no extension": ("export", b"Sample ID,Viability\n", "not an export this site reads"),
    "pdf named csv": ("a.csv", b"%PDF-1.7\n%%EOF\n", "could not be read as a"),
    "csv of another kind": ("qc.csv", b"date,test,result,unit\n2026-01-02,endotoxin,0.5,EU/mL\n", "could not be read"),
    "truncated csv": ("a.csv", exports.vi_cell_blu_export()[:700], "could not be read"),
    "truncated txt": ("a.txt", exports.vi_cell_xr_export()[:300], "could not be read as a Vi-CELL XR export"),
    "truncated xlsx": ("a.xlsx", exports.export_bytes("vi_cell_xr.xlsx")[:7000], "could not be read"),
    "truncated xml": ("a.xml", exports.facsdiva_export()[:20000], "could not be read as a FACSDiva XML export"),
    "other xml": ("a.xml", b"<?xml version='1.0'?><order><item/></order>", "could not be read"),
    "other workspace": ("a.wsp", b"<?xml version='1.0'?><Workspace><SampleList/></Workspace>", "holds no sample"),
    "truncated workspace": ("a.wsp", exports.flowjo_export()[:30000], "could not be read as a FlowJo workspace"),
    "csv named txt": ("a.txt", exports.vi_cell_blu_export(), "could not be read as a Vi-CELL XR export"),
    "latin-1 csv": ("a.csv", "Sample ID;Viabilité\n".encode("latin-1"), "could not be read"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_file_that_is_no_export_is_refused_in_the_technicians_words(case):
    name, content, message = REFUSED[case]
    with pytest.raises(UnreadableExport, match=message) as refusal:
        read_export(name, content)
    assert type(refusal.value) is UnreadableExport
    assert "Traceback" not in refusal.value.message and "DataFrame" not in refusal.value.message


def test_an_oversized_file_is_refused_unread():
    with pytest.raises(UnreadableExport, match="larger than an instrument export"):
        read_export("a.csv", b"x" * (readings.MAX_EXPORT_BYTES + 1))


def test_an_export_without_sample_id_is_refused():
    import io

    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(exports.vi_cell_xr_xlsx_export("NOID")))
    next(cell for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.value == "NOID").value = None
    saved = io.BytesIO()
    workbook.save(saved)
    with pytest.raises(UnreadableExport, match="no sample ID"):
        read_export("a.xlsx", saved.getvalue())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(min_size=1, max_size=2000),
       extension=st.sampled_from(["csv", "txt", "xls", "xlsx", "xml", "wsp", "fcs", "pdf"]))
def test_random_bytes_are_refused_with_unreadable_export_only(content, extension):
    with pytest.raises(UnreadableExport):
        read_export(f"upload.{extension}", content)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=1, max_value=1096))
def test_a_vi_cell_blu_export_cut_anywhere_reads_or_is_refused(cut):
    content = exports.vi_cell_blu_export()[:cut]
    try:
        export = read_export("a.csv", content)
    except UnreadableExport:
        return
    assert all(sample.sample_id for sample in export.samples)


def test_the_readers_name_each_format_for_the_upload_page():
    assert [reader.vendor for reader in READERS] == [
        "BECKMAN_VI_CELL_BLU", "BECKMAN_VI_CELL_XR", "CHEMOMETEC_NUCLEOVIEW", "CHEMOMETEC_NC_VIEW",
        "ROCHE_CEDEX_HIRES", "BD_BIOSCIENCES_FACSDIVA", "FLOWJO"]
    assert READERS[1].described == "Vi-CELL XR (.txt, .xls, .xlsx)"
    from allotropy.parser_factory import Vendor

    for reader in READERS:
        assert set(reader.extensions) <= set(Vendor[reader.vendor].supported_extensions)


def test_importing_the_readings_leaves_allotropy_and_pandas_unloaded():
    code = ("import sys, manufacturing.instruments.readings, manufacturing.instruments.fcs; "
            "print(sorted(m for m in ('allotropy', 'pandas', 'flowio') if m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
                            env={"PYTHONPATH": str(root), "PATH": ""})
    assert result.stdout.strip() == "[]"
