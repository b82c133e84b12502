"""Units: the one registry, safe parsing of entered values, lab formatting, the quantity column."""

import importlib
import math
import time
from decimal import Decimal

import pint
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from manufacturing import units
from manufacturing.units import (
    Q_,
    QuantityError,
    QuantityType,
    dimension_name,
    format_limit,
    format_quantity,
    lab_unit,
    parse_quantity,
    quantity_from_text,
    quantity_to_text,
    same_dimension,
    shown_magnitude,
    to_lab_unit,
    unit_label,
    ureg,
)


def test_one_registry_built_once_and_registered_for_the_application():
    assert pint.get_application_registry().get() is ureg
    assert importlib.import_module("manufacturing.units").ureg is ureg
    assert Q_(1, "cells").units == units.lab_unit("cells")


def test_cells_iu_and_eu_are_their_own_dimensions():
    assert dimension_name("cells") == "a cell count"
    assert dimension_name("cells/mL") == "a cell concentration"
    assert dimension_name("cells/kg") == "a dose per kg body weight"
    assert not same_dimension("cells/mL", "IU/mL")
    assert not same_dimension("IU/mL", "EU/mL")
    assert not same_dimension("cells/kg", "EU/kg")
    assert (Q_(2.0, "cells/mL") * Q_(3.0, "mL")).to("cells").magnitude == pytest.approx(6.0)
    assert Q_(96, "%").to("dimensionless").magnitude == pytest.approx(0.96)


@pytest.mark.parametrize(
    ("text", "expected", "magnitude", "unit"),
    [
        ("2.5e6 cells/mL", "cells/mL", 2.5e6, "cells/mL"),
        ("2.5 x 10^6 cells/mL", "cells/mL", 2.5e6, "cells/mL"),
        ("2.5 X 10^6 cells/mL", "cells/mL", 2.5e6, "cells/mL"),
        ("2.5×10⁶/mL", "cells/mL", 2.5e6, "cells/mL"),
        ("2.5 · 10⁶ cells/µL", "cells/µL", 2.5e6, "cells/µL"),
        ("2.5*10**6 cells", "cells", 2.5e6, "cells"),
        ("2.5e6", "cells", 2.5e6, "cells"),
        ("185 mL", "mL", 185, "mL"),
        ("185mL", "mL", 185, "mL"),
        ("185 ml", "mL", 185, "mL"),
        ("0.185 L", "mL", 0.185, "L"),
        ("250 uL", "mL", 250, "µL"),
        ("96 %", "percent", 96, "%"),
        ("96%", "%", 96, "%"),
        ("64.5 kg", "kg", 64.5, "kg"),
        ("500 IU/mL", "IU/mL", 500, "IU/mL"),
        ("1.2e8 cells", "cells", 1.2e8, "cells"),
        ("3.16e6 cells/kg", "cells/kg", 3.16e6, "cells/kg"),
        ("10^6/kg", "cells/kg", 1e6, "cells/kg"),
        ("10⁶/kg", "cells/kg", 1e6, "cells/kg"),
        ("0.25 EU/mL", "EU/mL", 0.25, "EU/mL"),
        ("37 °C", "degC", 37, "°C"),
        ("37 degC", "degC", 37, "°C"),
        ("-1.5 °C", "degC", -1.5, "°C"),
        ("24 h", "h", 24, "h"),
        ("90 min", "h", 90, "min"),
        ("28 days", "d", 28, "d"),
        ("2,5 mL", "mL", 2.5, "mL"),
        ("0,185 L", "mL", 0.185, "L"),
        ("1234,5 mL", "mL", 1234.5, "mL"),
        ("2.7 log", "log", 2.7, "log"),
        ("2.7", "log", 2.7, "log"),
        ("15.7", "dimensionless", 15.7, ""),
        ("  185 mL  ", "mL", 185, "mL"),
    ],
)
def test_parse_accepts_what_technicians_type(text, expected, magnitude, unit):
    quantity = parse_quantity(text, expected)
    assert isinstance(quantity.magnitude, float)
    assert quantity.magnitude == pytest.approx(magnitude, rel=1e-12)
    assert unit_label(quantity.units) == unit


def test_parse_keeps_the_unit_entered():
    assert parse_quantity("0.185 L", "mL").units == ureg.liter
    assert parse_quantity("0.185 L", "mL").to("mL").magnitude == pytest.approx(185)


def test_expression_is_never_evaluated_and_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(QuantityError, match="not a unit the lab uses"):
        parse_quantity("9**9**9 mL", "mL")
    assert time.perf_counter() - start < 0.010


def test_wrong_dimension_names_both_dimensions():
    with pytest.raises(QuantityError) as error:
        parse_quantity("45 mL", "cells/mL")
    assert str(error.value) == "45 mL is a volume, but a cell concentration (cells/mL) is expected here"


@pytest.mark.parametrize(
    "text", ["1,234.5 mL", "1.234,5 mL", "1,234 mL", "12,345 mL", "1.234.567 mL", "1,2,3 mL"]
)
def test_ambiguous_separators_are_refused(text):
    with pytest.raises(QuantityError, match="without thousands separators and with a decimal point"):
        parse_quantity(text, "mL")


@pytest.mark.parametrize(
    ("text", "expected", "message"),
    [
        ("", "mL", "Enter a value, e.g. 185 mL"),
        ("   ", "cells/mL", "Enter a value"),
        ("185", "mL", "add the unit, e.g. 185 mL"),
        ("96", "percent", "add the unit, e.g. 96 %"),
        ("2.5e6", "cells/mL", "add the unit, e.g. 2.5 × 10⁶ cells/mL"),
        ("5 furlongs", "mL", "'furlongs' is not a unit the lab uses"),
        ("NaN mL", "mL", "does not start with a number"),
        ("nan", "dimensionless", "does not start with a number"),
        ("inf mL", "mL", "does not start with a number"),
        ("1e999 mL", "mL", "too large"),
        ("1e-999 mL", "mL", "too small"),
        ("-5 cells", "cells", "a cell count cannot be negative"),
        ("-185 mL", "mL", "a volume cannot be negative"),
        ("-2.5e6 cells/mL", "cells/mL", "a cell concentration cannot be negative"),
        ("mL", "mL", "does not start with a number"),
        (". mL", "mL", "is not a number"),
        ("25 %", "log", "25 % is a percentage, but a log reduction (log) is expected here"),
        ("0.96", "%", "add the unit"),
        ("96 %", "dimensionless", "96 % is a percentage, but a number is expected here"),
        ("x" * 200, "mL", "at most 80 characters"),
    ],
)
def test_refusals_have_a_clear_message(text, expected, message):
    with pytest.raises(
        QuantityError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")
    ):
        parse_quantity(text, expected)


@pytest.mark.parametrize(
    ("text", "expected", "read"),
    [("80", "%", "80 %"), ("0.96", "%", "0.96 %"), ("1,5e6", "cells/mL", "1.5e6 cells/mL"),
     ("1,5 x 10^6", "cells/mL", "1.5e6 cells/mL"), ("185", "mL", "185 mL"), ("2.5e6 cells/mL", "cells/mL",
                                                                                "2.5e6 cells/mL")],
)
def test_a_bare_number_is_read_in_the_unit_the_field_prints(text, expected, read):
    assert parse_quantity(text, expected, unit_printed=True) == parse_quantity(read)


def test_a_field_that_prints_its_unit_still_refuses_another_kind_of_unit():
    with pytest.raises(QuantityError, match="is a volume, but a percentage"):
        parse_quantity("80 mL", "%", unit_printed=True)


def test_any_lab_unit_is_accepted_without_an_expected_unit():
    assert parse_quantity("5 EU/kg/h").units == lab_unit("EU/kg/h")
    assert parse_quantity("70").units == lab_unit("dimensionless")


def test_quantity_error_is_a_domain_error():
    from manufacturing.core.errors import DomainError

    assert issubclass(QuantityError, DomainError)
    with pytest.raises(QuantityError, match="not a unit the lab uses"):
        lab_unit("furlongs")


@pytest.mark.parametrize(
    ("quantity", "shown", "plain"),
    [
        (Q_(2.35e8, "cells"), "2.35 × 10⁸ cells", "2.35 x 10^8 cells"),
        (Q_(1.2e6, "cells/mL"), "1.20 × 10⁶ cells/mL", "1.20 x 10^6 cells/mL"),
        (Q_(13.6, "mL"), "13.6 mL", "13.6 mL"),
        (Q_(96, "percent"), "96.0 %", "96.0 %"),
        (Q_(64.5, "kg"), "64.5 kg", "64.5 kg"),
        (Q_(500, "IU/mL"), "500 IU/mL", "500 IU/mL"),
        (Q_(3.16e6, "cells/kg"), "3.16 × 10⁶ cells/kg", "3.16 x 10^6 cells/kg"),
        (Q_(2.7, "log"), "2.70 log", "2.70 log"),
        (Q_(15.7, "dimensionless"), "15.7", "15.7"),
        (Q_(9500, "cells"), "9.50 × 10³ cells", "9.50 x 10^3 cells"),
        (Q_(4120, "cells/kg"), "4.12 × 10³ cells/kg", "4.12 x 10^3 cells/kg"),
        (Q_(999, "cells"), "999 cells", "999 cells"),
        (Q_(0.05, "percent"), "0.05 %", "0.05 %"),
        (Q_(0.0123, "percent"), "0.0123 %", "0.0123 %"),
        (Q_(2, "percent"), "2.00 %", "2.00 %"),
        (Q_(37, "degC"), "37.0 °C", "37.0 degC"),
        (Q_(250, "microliter"), "250 µL", "250 uL"),
        (Q_(0.5, "EU/mL"), "0.50 EU/mL", "0.50 EU/mL"),
        (Q_(24, "hour"), "24.0 h", "24.0 h"),
        (Q_(1.0e-4, "mL"), "1.00 × 10⁻⁴ mL", "1.00 x 10^-4 mL"),
        (Q_(9.996e7, "cells"), "1.00 × 10⁸ cells", "1.00 x 10^8 cells"),
    ],
)
def test_format_the_way_the_lab_reads(quantity, shown, plain):
    assert format_quantity(quantity) == shown
    assert format_quantity(quantity, plain=True) == plain


def test_format_digits_and_limits():
    assert format_quantity(Q_(2.3456e8, "cells"), digits=4) == "2.346 × 10⁸ cells"
    assert format_quantity(Q_(2.7, "log"), digits=3) == "2.70 log"
    assert format_limit(Q_(70, "percent")) == "70 %"
    assert format_limit(Q_(1e8, "cells/kg")) == "1 × 10⁸ cells/kg"
    assert format_limit(Q_(3.16e6, "cells/kg"), plain=True) == "3.16 x 10^6 cells/kg"
    assert shown_magnitude(Q_(2.346e8, "cells")) == 2.35e8


def test_labels_and_conversions():
    assert [unit_label(u) for u in ("milliliter", "cells/mL", "percent", "degC", "EU/mL", "IU/mL")] == [
        "mL",
        "cells/mL",
        "%",
        "°C",
        "EU/mL",
        "IU/mL",
    ]
    assert unit_label(Q_(1, "cells")) == "cells"
    assert to_lab_unit(Q_(0.185, "L"), "mL").magnitude == pytest.approx(185)
    assert dimension_name(Q_(1, "IU/mL")) == "a cytokine concentration"
    assert dimension_name("°C") == "a temperature"
    assert dimension_name("min") == "a time"
    assert dimension_name("g") == "a mass"
    assert dimension_name("%") == "a percentage"


@given(st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False, allow_infinity=False))
def test_parse_of_a_decimal_in_ml_is_exactly_that_decimal(value):
    quantity = parse_quantity(f"{value:f} mL", "mL")
    assert quantity.magnitude == float(value)
    assert quantity.units == ureg.milliliter


_UNITS_TO_ROUND_TRIP = ["cells", "cells/mL", "cells/kg", "mL", "%", "kg", "IU/mL", "EU/mL", "h", "log"]


@given(
    st.floats(min_value=1e-6, max_value=1e13, allow_nan=False, allow_infinity=False),
    st.sampled_from(_UNITS_TO_ROUND_TRIP),
    st.sampled_from([None, 2, 3, 4, 6]),
)
def test_format_plain_then_parse_gives_the_value_shown(value, unit, digits):
    quantity = Q_(value, lab_unit(unit))
    parsed = parse_quantity(format_quantity(quantity, plain=True, digits=digits), unit)
    assert parsed.units == quantity.units
    assert parsed.magnitude == pytest.approx(shown_magnitude(quantity, digits), rel=1e-12)
    precision = 0.05 if digits is None and unit == "log" else abs(value) * 10 ** (1 - (digits or 3))
    assert abs(parsed.magnitude - value) <= precision


@given(st.floats(min_value=-80, max_value=60, allow_nan=False))
def test_temperatures_round_trip_including_negative(value):
    quantity = Q_(value, "degC")
    parsed = parse_quantity(format_quantity(quantity, plain=True), "°C")
    assert parsed.magnitude == pytest.approx(shown_magnitude(quantity), rel=1e-12, abs=1e-12)


# ---- storage ------------------------------------------------------------------------------


@pytest.fixture
def samples_table():
    engine = sa.create_engine("sqlite://")
    metadata = sa.MetaData()
    table = sa.Table(
        "samples", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("value", QuantityType())
    )
    metadata.create_all(engine)
    yield engine, table
    engine.dispose()


STORED = [
    Q_(2.5e6, "cells/mL"),
    Q_(185.0, "mL"),
    Q_(0.185, "L"),
    Q_(96.0, "percent"),
    Q_(64.5, "kg"),
    Q_(500.0, "IU/mL"),
    Q_(0.1 + 0.2, "EU/mL"),
    Q_(3.16e6, "cells/kg"),
    Q_(37.0, "degC"),
    Q_(-1.5, "degC"),
    Q_(2.7, "log"),
    Q_(15.7, "dimensionless"),
    Q_(5.0, "EU/kg/h"),
    Q_(1e-300, "mL"),
    Q_(7, "cells"),
]


def test_quantity_column_round_trip_in_sqlite(samples_table):
    engine, table = samples_table
    with engine.begin() as connection:
        connection.execute(
            table.insert(),
            [{"id": i, "value": q} for i, q in enumerate(STORED)] + [{"id": len(STORED), "value": None}],
        )
        rows = dict(connection.execute(sa.select(table.c.id, table.c.value)).all())
        raw = connection.execute(sa.text("select value from samples where id = 0")).scalar_one()
    assert raw == "2500000.0 cell / milliliter"
    for index, quantity in enumerate(STORED):
        assert rows[index].magnitude == float(quantity.magnitude)
        assert rows[index].units == quantity.units
    assert rows[len(STORED)] is None


def test_quantity_column_refuses_a_non_quantity(samples_table):
    engine, table = samples_table
    with pytest.raises(TypeError):
        QuantityType().process_bind_param("185 mL", None)
    with pytest.raises(sa.exc.StatementError) as error, engine.begin() as connection:
        connection.execute(table.insert(), {"id": 1, "value": 185.0})
    assert isinstance(error.value.orig, TypeError)
    with pytest.raises(ValueError, match="not finite"):
        quantity_to_text(Q_(math.nan, "mL"))


def test_quantity_column_renders_for_alembic():
    from alembic.autogenerate import render  # the renderer autogenerate uses for column types
    from alembic.autogenerate.api import AutogenContext
    from alembic.migration import MigrationContext

    context = AutogenContext(
        MigrationContext.configure(dialect_name="sqlite"), opts={"user_module_prefix": None}
    )
    assert repr(QuantityType()) == "QuantityType()"
    assert render._repr_type(QuantityType(), context) == "manufacturing.units.QuantityType()"
    assert QuantityType.cache_ok is True


@given(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["cells/mL", "mL", "%", "kg", "EU/kg/h", "°C", "log", "dimensionless", "cells"]),
)
def test_stored_text_round_trips_exactly(value, unit):
    quantity = Q_(value, lab_unit(unit))
    back = quantity_from_text(quantity_to_text(quantity))
    assert back.magnitude == value and back.units == quantity.units
    assert Decimal(quantity_to_text(quantity).split(" ")[0]) == Decimal(repr(value))


def test_every_lab_spelling_names_its_own_unit():
    for label, plain, pint_name, others in units._LAB_UNITS:
        for spelling in (label, plain, pint_name, *others):
            assert lab_unit(spelling) == ureg.Unit(pint_name), spelling
        assert unit_label(ureg.Unit(pint_name)) == label
        assert unit_label(ureg.Unit(pint_name), plain=True) == plain
