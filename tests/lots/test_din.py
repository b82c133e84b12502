"""ISBT 128 DIN and product code: check character, scan and keyboard entry, refusals, barcodes."""

import io
import re
import xml.etree.ElementTree as ET

import barcode
import pytest
from hypothesis import given
from hypothesis import strategies as st

from manufacturing.core.errors import DomainError
from manufacturing.lots.din import (
    ALPHABET,
    Din,
    DinError,
    EyeReadable,
    ProductCode,
    ProductCodeError,
    check_character,
    flag_checksum,
    new_din,
    parse,
)

din13s = st.from_regex(r"[A-NP-Z][0-9]{12}", fullmatch=True)


# --- acceptance examples -------------------------------------------------------------------------


def test_check_character_of_the_standard_example():
    assert check_character("G123489654321") == "Y"


def test_red_book_example_check_character_and_type_3_flags():
    assert check_character("G123498654321") == "H"
    assert flag_checksum("G123498654321") == "77"


def test_scanned_barcode_and_keyboard_entry_give_the_same_din():
    scanned = parse("=G12348965432100")
    typed = parse("G123489654321Y")
    assert scanned == typed
    assert hash(scanned) == hash(typed)
    assert {scanned, typed} == {typed}


def test_keyboard_entry_with_check_character_parses():
    din = parse("G123417654321A")
    assert (din.facility, din.year, din.sequence, din.flags) == ("G1234", "17", "654321", "00")


# --- accepted forms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "g1234 17 654321 a",
        "  G1234 17 654321 A\n",
        "G 1 2 3 4 1 7 6 5 4 3 2 1 A",
        "=G12341765432100\n",
        "=G12341765432100\r\n",
        "G1234 17 654321 00 A",
        "=G123417654321A",
    ],
)
def test_accepted_entries(text):
    assert parse(text) == Din("G1234", "17", "654321")


def test_keyboard_flags_and_scanned_flags_are_kept():
    assert parse("G1234 89 654321 07 Y").flags == "07"
    assert parse("=G12348965432194").flags == "94"
    assert parse("G123489654321Y").flags == "00"


def test_flags_take_no_part_in_equality():
    plain = Din("G1234", "89", "654321")
    container = Din("G1234", "89", "654321", flags="01")
    assert plain == container
    assert container.flags == "01"
    assert plain != Din("G1234", "89", "654322")


def test_printed_forms():
    din = parse("=G12348965432100")
    assert din.din13 == "G123489654321"
    assert din.check == "Y"
    assert din.keyboard == str(din) == "G123489654321Y"
    assert din.grouped == "G1234 89 654321"
    assert din.eye_readable == EyeReadable("G1234 89 654321", "00", "Y")
    assert str(din.eye_readable) == "G1234 89 654321 00 Y"
    assert din.barcode_data == "=G12348965432100"


def test_type_3_flags_carry_the_check_value():
    din = Din("G1234", "89", "654321").with_check_flags()
    assert din.barcode_data == "=G12348965432194"
    assert parse(din.barcode_data) == din


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("G123489654321A", "The check character of DIN G1234 89 654321 should be Y, not A: re-scan the bag"),
        ("=G123489654321A", "should be Y, not A"),
        ("O123489654321Y", "capital letter other than O and four digits (e.g. G1234), not 'O1234'"),
        ("1123489654321Y", "facility code of a DIN is a capital letter other than O"),
        ("GA23489654321Y", "not 'GA234'"),
        ("=*12348965432100", "not '*1234'"),
        ("G12348X654321Y", "The year of a DIN is two digits (e.g. 26), not '8X'"),
        ("G12348965X321Y", "The sequence number of a DIN is six digits (e.g. 000123), not '65X321'"),
        ("G1234896543Y", "A typed DIN is 13 characters and its check character"),
        ("G1234896543211Y", "has 15"),
        ("=G12348965432", "A scanned DIN is = then 13 characters and 2 flags"),
        ("=G123489654321000", "has 16 characters after the ="),
        ("G1234 89 654321", "DIN G1234 89 654321 was typed without its check character"),
        ("=G1234896543210A", "The flags of DIN G1234 89 654321 are two digits (00 if not used), not '0A'"),
        ("=G12348965432193", "The check flags of DIN G1234 89 654321 should be 94, not 93"),
        ("G1234 89 654321 93 Y", "should be 94, not 93"),
        ("=g12348965432100", "check Caps Lock"),
        ("=G1234 89 654321 00", "no spaces"),
        ("", "No DIN was entered"),
        ("  \n", "No DIN was entered"),
    ],
)
def test_refusals_say_what_is_wrong(text, message):
    with pytest.raises(DinError, match=re.escape(message)):
        parse(text)


def test_din_error_is_a_domain_error():
    assert issubclass(DinError, DomainError)
    assert issubclass(ProductCodeError, DomainError)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (("G123", "89", "654321"), "not 'G123'"),
        (("G1234", "8", "654321"), "not '8'"),
        (("G1234", "89", "65432"), "not '65432'"),
        (("G1234", "89", "654321", "0"), "not '0'"),
        (("G1234", "89", "654321", "61"), "should be 94, not 61"),
    ],
)
def test_din_refuses_bad_parts_when_built(parts, message):
    with pytest.raises(DinError, match=re.escape(message)):
        Din(*parts)


@pytest.mark.parametrize("din13", ["G12348965432", "O123489654321", "g123489654321"])
def test_check_character_refuses_what_is_not_a_din(din13):
    with pytest.raises(DinError):
        check_character(din13)


# --- assigning DINs ------------------------------------------------------------------------------


def test_new_din_pads_year_and_sequence():
    din = new_din("W1234", 2026, 42)
    assert din.din13 == "W123426000042"
    assert new_din("W1234", 26, "000042") == din
    assert new_din("W1234", "26", 42, flags="01").flags == "01"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("W1234", 2026, 1_000_000), "0 to 999999, not 1000000"),
        (("W1234", 2026, -1), "not -1"),
        (("W1234", 126, 1), "year of collection (e.g. 2026), not 126"),
        (("O1234", 2026, 1), "not 'O1234'"),
    ],
)
def test_new_din_refuses_bad_inputs(args, message):
    with pytest.raises(DinError, match=re.escape(message)):
        new_din(*args)


# --- properties ----------------------------------------------------------------------------------


@given(din13s)
def test_keyboard_form_parses_back_to_the_same_din(din13):
    din = parse(din13 + check_character(din13))
    assert din.din13 == din13
    assert parse(din.keyboard) == din
    assert parse(" ".join(din.eye_readable).lower()) == din


@given(din13s)
def test_barcode_with_type_3_flags_parses_back(din13):
    din = new_din(din13[:5], din13[5:7], din13[7:]).with_check_flags()
    scanned = parse(din.barcode_data)
    assert scanned == din
    assert scanned.flags == din.flags


@given(din13s, st.integers(min_value=0, max_value=13), st.sampled_from(ALPHABET))
def test_a_single_substitution_is_always_refused(din13, position, replacement):
    keyboard = din13 + check_character(din13)
    if keyboard[position] == replacement:
        replacement = ALPHABET[(ALPHABET.index(replacement) + 1) % len(ALPHABET)]
    typo = keyboard[:position] + replacement + keyboard[position + 1 :]
    with pytest.raises(DinError):
        parse(typo)


@given(din13s, st.integers(min_value=60, max_value=96))
def test_only_the_right_type_3_flags_are_accepted(din13, flags):
    scan = f"={din13}{flags}"
    if str(flags) == flag_checksum(din13):
        assert parse(scan).din13 == din13
    else:
        with pytest.raises(DinError, match="check flags"):
            parse(scan)


# --- product codes -------------------------------------------------------------------------------


def test_product_code_scanned_and_typed():
    scanned = ProductCode.parse("=<S12341A0\n")
    assert scanned == ProductCode.parse("S1234 1 A0") == ProductCode("S1234", "1", "A0")
    assert scanned.code == str(scanned) == "S12341A0"
    assert scanned.barcode_data == "=<S12341A0"


def test_product_code_defaults_to_autologous_and_undivided():
    code = ProductCode("S1234")
    assert code.code == "S1234100"
    assert code.dose_unit is None


@pytest.mark.parametrize(("dose_unit", "division"), [(1, "A0"), (2, "B0"), (15, "O0"), (26, "Z0")])
def test_divisions_number_the_dose_units(dose_unit, division):
    code = ProductCode("S1234").with_division(dose_unit)
    assert code.division == division
    assert code.dose_unit == dose_unit
    assert ProductCode.parse(code.barcode_data) == code


def test_second_level_division_belongs_to_its_dose_unit():
    assert ProductCode.parse("S12341Bc").dose_unit == 2


@pytest.mark.parametrize("dose_unit", [0, 27, -1, True])
def test_division_refuses_dose_units_out_of_range(dose_unit):
    with pytest.raises(ProductCodeError, match="1 to 26 dose units"):
        ProductCode("S1234").with_division(dose_unit)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("=<s12341A0", "description code is a capital letter and four digits (e.g. S1234), not 's1234'"),
        ("=<SA2341A0", "not 'SA234'"),
        ("=<S1234-A0", "type of donation is one letter or digit (1: for autologous use only), not '-'"),
        ("=<S12341a0", "division code is 00 (undivided) or a capital letter and 0 or a small letter"),
        ("=<S123410A", "not '0A'"),
        ("=<S12341A", "A product code has 8 characters"),
        ("S12341A00", "has 9"),
        ("", "has 0"),
    ],
)
def test_product_code_refusals(text, message):
    with pytest.raises(ProductCodeError, match=re.escape(message)):
        ProductCode.parse(text)


# --- barcodes ------------------------------------------------------------------------------------


def _rasterise_svg(svg: bytes, pixels_per_mm: int = 20):
    """Draw the bars of a python-barcode SVG onto a Pillow image (no SVG renderer needed)."""
    image_module = pytest.importorskip("PIL.Image", reason="Pillow is needed to rasterise the barcode")
    draw_module = pytest.importorskip("PIL.ImageDraw", reason="Pillow is needed to rasterise the barcode")
    root = ET.fromstring(svg)

    def mm(value: str) -> int:
        return round(float(value.removesuffix("mm")) * pixels_per_mm)

    image = image_module.new("L", (mm(root.get("width")), mm(root.get("height"))), 255)
    draw = draw_module.Draw(image)
    for rect in root.iter("{http://www.w3.org/2000/svg}rect"):
        if "fill:black" in rect.get("style", "") and rect.get("x"):
            x, y = mm(rect.get("x")), mm(rect.get("y"))
            draw.rectangle((x, y, x + mm(rect.get("width")) - 1, y + mm(rect.get("height")) - 1), fill=0)
    return image


def _decode(image) -> list[str]:
    """Texts of the Code 128 barcodes zxing-cpp finds in an image."""
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp is needed to read the barcode back")
    return [
        found.text
        for found in zxingcpp.read_barcodes(image)
        if found.format == zxingcpp.BarcodeFormat.Code128
    ]


@pytest.mark.parametrize(
    "data",
    [
        parse("G123489654321Y").barcode_data,
        parse("G123489654321Y").with_check_flags().barcode_data,
        ProductCode("S1234").with_division(2).barcode_data,
    ],
)
def test_svg_code_128_barcode_reads_back(data):
    from barcode.writer import SVGWriter

    svg = io.BytesIO()
    barcode.get("code128", data, writer=SVGWriter()).write(svg)
    assert svg.getvalue().startswith(b"<?xml")
    assert _decode(_rasterise_svg(svg.getvalue())) == [data]


def test_png_code_128_barcode_of_the_din_reads_back():
    image_module = pytest.importorskip(
        "PIL.Image", reason="Pillow is needed for python-barcode's ImageWriter"
    )
    from barcode.writer import ImageWriter

    din = parse("=G12348965432100")
    png = io.BytesIO()
    barcode.get("code128", din.barcode_data, writer=ImageWriter()).write(png)
    png.seek(0)
    texts = _decode(image_module.open(png))
    assert texts == [din.barcode_data]
    assert parse(texts[0]) == din
