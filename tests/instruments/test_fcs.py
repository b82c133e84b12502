"""FCS keywords through flowio: sample, acquisition time, cytometer, serial and event count; other files refused."""

import io
from datetime import date, datetime, time

import flowio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manufacturing.instruments.fcs import read_fcs
from manufacturing.instruments.readings import UnreadableExport

KEYWORDS = {"$FIL": "NK-2026-0001-D14.fcs", "TUBE NAME": "NK panel", "$SMNO": "G123426200001",
            "$DATE": "14-JAN-2026", "$BTIM": "09:41:07.25", "$CYT": "FACSCanto II", "$CYTSN": "V12345678"}


def _fcs(keywords: dict[str, str], events: int = 3) -> bytes:
    written = io.BytesIO()
    flowio.create_fcs(written, [float(n) for n in range(2 * events)], ["FSC-A", "SSC-A"], metadata_dict=keywords)
    return written.getvalue()


@pytest.fixture(scope="module")
def fcs_file() -> bytes:
    return _fcs(KEYWORDS)


def test_the_keywords_of_an_fcs_3_1_file_are_read(fcs_file):
    keywords = read_fcs(fcs_file)
    assert keywords.version == "3.1"
    assert keywords.sample_name == "NK-2026-0001-D14.fcs"
    assert (keywords.acquired_on, keywords.acquired_at) == (date(2026, 1, 14), time(9, 41, 7))
    assert keywords.acquired == datetime(2026, 1, 14, 9, 41, 7)
    assert (keywords.cytometer, keywords.serial_number, keywords.event_count) == ("FACSCanto II", "V12345678", 3)
    assert keywords.keywords["tube name"] == "NK panel"


def test_an_fcs_3_0_file_is_read_too(fcs_file):
    assert read_fcs(b"FCS3.0" + fcs_file[6:]).version == "3.0"


@pytest.mark.parametrize(("absent", "sample_name"), [(("$FIL",), "NK panel"), (("$FIL", "TUBE NAME"), "G123426200001"),
                                                     (("$FIL", "TUBE NAME", "$SMNO"), None)])
def test_the_sample_name_is_the_file_name_else_the_tube_else_the_sample_number(absent, sample_name):
    keywords = read_fcs(_fcs({key: value for key, value in KEYWORDS.items() if key not in absent}, events=5))
    assert keywords.sample_name == sample_name and keywords.event_count == 5


def test_missing_date_and_time_are_none():
    keywords = read_fcs(_fcs({"$FIL": "a.fcs"}))
    assert keywords.acquired_on is None and keywords.acquired is None and keywords.cytometer is None


@pytest.mark.parametrize("content", [b"", b"%PDF-1.7\n", b"Sample ID,Viability\n", b"FCS3.1  damaged"])
def test_a_file_that_is_no_fcs_is_refused(content):
    with pytest.raises(UnreadableExport):
        read_fcs(content)


def test_a_truncated_fcs_file_is_refused(fcs_file):
    with pytest.raises(UnreadableExport, match="damaged or incomplete"):
        read_fcs(fcs_file[:300])


def test_an_fcs_2_file_is_refused(fcs_file):
    with pytest.raises(UnreadableExport, match=r"FCS 2\.0 file"):
        read_fcs(b"FCS2.0" + fcs_file[6:])


@settings(max_examples=60, deadline=None)
@given(content=st.binary(max_size=1000), fcs_prefix=st.booleans())
def test_random_bytes_are_refused_with_unreadable_export_only(content, fcs_prefix):
    with pytest.raises(UnreadableExport):
        read_fcs((b"FCS3.1    " if fcs_prefix else b"") + content)
