"""Instrument exports for tests: the files under data/, with the first sample's ID set to any text."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

DATA = Path(__file__).resolve().parent / "data"

# The sample IDs as they stand in the files (README.md in data/ tells where each file comes from).
VI_CELL_BLU_IDS = ("NK-2026-0001-D7", "NK-2026-0002-D7")
VI_CELL_XR_ID = "NK-2026-0001-D14"
VI_CELL_XR_XLSX_IDS = ("CLB001", "CLB002", "CLB003", "CLB004")
NUCLEOVIEW_ID = "G123426200001"
NC_VIEW_IDS = ("NK-2026-0001-D7", "NK-2026-0002-D7", "NK-2026-0003-D7")
CEDEX_HIRES_IDS = ("NK-2026-0001-D21", "NK-2026-0002-D21")
FACSDIVA_IDS = ("NK-2026-0001-D14", "NK-2026-0002-D14")
FLOWJO_ID = "NK-2026-0003-D14"  # the tube name (FCS keyword TUBE NAME)


def export_bytes(name: str) -> bytes:
    """The bytes of a file of data/ as it is."""
    return (DATA / name).read_bytes()


def _csv_field(text: str) -> str:
    """A CSV field: quoted where the text holds a comma, a quote or a line break."""
    if any(character in text for character in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _one_line(sample_id: str) -> str:
    if not sample_id or any(character in sample_id for character in "\r\n"):
        raise ValueError("a sample ID is one line of text")
    return sample_id


def vi_cell_blu_export(sample_id: str = VI_CELL_BLU_IDS[0]) -> bytes:
    """A Vi-CELL BLU CSV export (2 samples), the first with the given sample ID."""
    quoted = '"' + _one_line(sample_id).replace('"', '""') + '"'
    return export_bytes("vi_cell_blu.csv").replace(f'"{VI_CELL_BLU_IDS[0]}"'.encode(), quoted.encode(), 1)


def vi_cell_xr_export(sample_id: str = VI_CELL_XR_ID) -> bytes:
    """A Vi-CELL XR text export (1 sample) with the given sample ID (also in its image names)."""
    return export_bytes("vi_cell_xr.txt").replace(VI_CELL_XR_ID.encode(), _one_line(sample_id).encode())


def vi_cell_xr_xlsx_export(sample_id: str = VI_CELL_XR_XLSX_IDS[0]) -> bytes:
    """A Vi-CELL XR Excel export (4 samples), the first with the given sample ID."""
    import openpyxl

    workbook = openpyxl.load_workbook(DATA / "vi_cell_xr.xlsx")
    cell = next(cell for sheet in workbook for row in sheet.iter_rows() for cell in row
                if cell.value == VI_CELL_XR_XLSX_IDS[0])
    cell.value = _one_line(sample_id)
    cell.data_type = "s"  # text, even where it starts with "=" as a formula would
    saved = BytesIO()
    workbook.save(saved)
    return saved.getvalue()


def nucleoview_export(sample_id: str = NUCLEOVIEW_ID) -> bytes:
    """A NucleoView NC-200 export (1 sample) with the given sample ID.

    NucleoView writes the sample ID only inside the image name (date-number-c-ID), which allotropy splits at
    "-": an ID with "-" (or the file's separators ";" and ",") cannot be written into this export.
    """
    if any(character in _one_line(sample_id) for character in "-;,"):
        raise ValueError("a NucleoView sample ID cannot hold '-', ';' or ','")
    return export_bytes("nucleoview_nc200.csv").replace(NUCLEOVIEW_ID.encode(), sample_id.encode())


def nc_view_export(sample_id: str = NC_VIEW_IDS[0]) -> bytes:
    """An NC-View CSV export (3 samples), the first with the given sample ID."""
    field = _csv_field(_one_line(sample_id))
    return export_bytes("nc_view.csv").replace(f",{NC_VIEW_IDS[0]},".encode(), f",{field},".encode(), 1)


def cedex_hires_export(sample_id: str = CEDEX_HIRES_IDS[0]) -> bytes:
    """A Cedex HiRes CSV export (2 samples), the first with the given sample ID."""
    field = _csv_field(_one_line(sample_id))
    return export_bytes("cedex_hires.csv").replace(f",{CEDEX_HIRES_IDS[0]},".encode(), f",{field},".encode(), 1)


def facsdiva_export(sample_id: str = FACSDIVA_IDS[0]) -> bytes:
    """A FACSDiva XML experiment (2 tubes; the first gated CD3+, CD56+CD3-, CD19+), the first with the given ID."""
    escaped = escape(_one_line(sample_id), {'"': "&quot;"})
    return export_bytes("facsdiva_nk_panel.xml").replace(
        f'name="{FACSDIVA_IDS[0]}"'.encode(), f'name="{escaped}"'.encode())


def flowjo_export(sample_id: str = FLOWJO_ID) -> bytes:
    """A FlowJo workspace (1 sample, gated Lymphocytes and CD3+) with the given tube name as sample ID."""
    escaped = escape(_one_line(sample_id), {'"': "&quot;"})
    return export_bytes("flowjo_nk_panel.wsp").replace(f'value="{FLOWJO_ID}"'.encode(), f'value="{escaped}"'.encode())
