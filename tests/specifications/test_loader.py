"""Specification files: every file in specs/ loads; invalid files are refused with file and key."""

import hashlib
import re
from datetime import date
from pathlib import Path

import pytest

from manufacturing.core.plausible import FILE_NAME as PLAUSIBLE_FILE_NAME
from manufacturing.specifications.loader import check_change_control, in_force, load_spec, load_specs
from manufacturing.specifications.model import (
    Cd3PerKgCriterion,
    DoseCriterion,
    EndotoxinCriterion,
    LimitCriterion,
    ProductSpec,
    QualitativeCriterion,
    SpecError,
    StudySpec,
)
from manufacturing.units import Q_

SPECS = Path(__file__).resolve().parents[2] / "specs"
PRODUCT = SPECS / "nk-cells-autologous.toml"
STUDY = SPECS / "study-nct02185781.toml"


def test_every_file_in_specs_loads_with_its_hash_and_source():
    files = sorted(path for path in SPECS.glob("*.toml") if path.name != PLAUSIBLE_FILE_NAME)
    specs = load_specs(SPECS)
    assert len(specs) == len(files) >= 2
    for path in files:
        spec = load_spec(path)
        assert spec.source == path.name
        assert spec.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
        assert specs[(spec.id, spec.version)] == spec
        assert spec.kind in ("product", "study")


def test_the_plausible_ranges_are_no_specification():
    assert (SPECS / PLAUSIBLE_FILE_NAME).exists()
    assert all(spec.source != PLAUSIBLE_FILE_NAME for spec in load_specs(SPECS).values())


def test_product_spec():
    spec = load_spec(PRODUCT)
    assert isinstance(spec, ProductSpec)
    assert (spec.id, spec.version, spec.effective, spec.kind) == (
        "nk-cells-autologous",
        "1.1",
        date(2025, 1, 15),
        "product",
    )
    assert spec.isbt128_product_code == "S1234"
    assert spec.label_statements == (
        "For autologous use only",
        "Do not irradiate",
        "Do not use a leukodepletion filter",
    )
    assert spec.dose_tolerance == (Q_(80, "%"), Q_(120, "%"))
    assert spec.max_dose_per_kg == Q_(1e8, "cells/kg")
    assert spec.fresh_shelf_life.text() == "24 h at 15-25 °C"
    assert spec.thawed_shelf_life.duration == Q_(4, "h")
    assert spec.max_collection_to_processing == Q_(24, "h")
    assert {limit.step for limit in spec.in_process} == {
        "apheresis",
        "cd3_depletion",
        "cd56_selection",
        "culture_day0",
        "culture_day",
        "harvest",
        "dose_preparation",
    }
    assert spec.limit("apheresis", "time_since_collection").text() == "alert > 20 h, action > 24 h"
    assert spec.limit("cd3_depletion", "log_depletion").text() == "alert < 2.5 log, action < 2 log"
    assert spec.limit("culture_day", "viability").alert_below == Q_(80, "%")
    assert spec.limit("cd56_selection", "nk_purity").alert_below == Q_(90, "%")


def test_release_criteria_follow_domain_section_4():
    spec = load_spec(PRODUCT)
    assert [c.key for c in spec.release] == [
        "appearance",
        "identity",
        "viability",
        "nk_purity",
        "cd3",
        "cd3_per_kg",
        "cd19",
        "dose",
        "gram_stain",
        "sterility",
        "endotoxin",
        "mycoplasma",
        "potency",
    ]
    texts = {c.key: c.text() for c in spec.release}
    assert texts["viability"] == ">= 70 %"
    assert texts["nk_purity"] == ">= 80 %"
    assert texts["cd3"] == "<= 5 %"
    assert texts["cd19"] == "<= 1 %"
    assert texts["potency"] == "> 20 %"
    assert texts["cd3_per_kg"] == "reported"
    assert texts["dose"] == "80-120 % of target per kg, never above 1 × 10⁸ cells/kg"
    assert (
        spec.criterion("dose").text(plain=True) == "80-120 % of target per kg, never above 1 x 10^8 cells/kg"
    )
    assert [c.key for c in spec.release if c.pending_allowed_at_release] == ["sterility"]
    assert isinstance(spec.criterion("sterility"), QualitativeCriterion)
    assert isinstance(spec.criterion("viability"), LimitCriterion)
    assert isinstance(spec.criterion("dose"), DoseCriterion)
    assert isinstance(spec.criterion("endotoxin"), EndotoxinCriterion)
    assert spec.criterion("endotoxin").max_per_kg_per_hour == Q_(5, "EU/kg/h")
    assert isinstance(spec.criterion("cd3_per_kg"), Cd3PerKgCriterion)
    assert all(c.method and c.sample and c.name for c in spec.release)
    plan = spec.sampling_plan()
    assert [c.key for c in plan["harvest supernatant"]] == ["mycoplasma"]
    assert "sterility" in [c.key for c in plan["final product"]]


def test_study_spec():
    spec = load_spec(STUDY)
    assert isinstance(spec, StudySpec)
    assert (spec.trial_id, spec.max_infusions, spec.product) == ("NCT02185781", 5, "nk-cells-autologous")
    assert spec.min_interval == Q_(28, "d")
    assert spec.max_dose_per_kg == Q_(1e8, "cells/kg")
    assert [level.dose_per_kg.m_as("cells/kg") for level in spec.dose_schedule] == [
        1e6,
        3.16e6,
        1e7,
        3.16e7,
        1e8,
    ]
    assert spec.dose_for_infusion(2) == Q_(3.16e6, "cells/kg")
    with pytest.raises(SpecError, match="no infusion 6"):
        spec.dose_for_infusion(6)
    assert (spec.product, "1.1") in load_specs(SPECS)


def write(tmp_path, source, old, new, name=None):
    """Write a copy of a real spec file with one change; return its path."""
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / (name or source.name)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'min = "70 %"',
            'min = "70 mL"',
            "nk-cells-autologous.toml: release.viability.min: '70 mL' is a volume, "
            "but viability is a percentage",
        ),
        (
            'min = "70 %"',
            'min = "70"',
            "release.viability.min: '70' is a number, but viability is a percentage",
        ),
        (
            'min = "70 %"',
            'min = "seventy %"',
            "release.viability.min: seventy % does not start with a number",
        ),
        ('min = "70 %"', "min = 70", "release.viability.min: 70 is not a text"),
        (
            'unit = "cells/kg"\ntolerance',
            'unit = "furlongs"\ntolerance',
            "release.dose.unit: 'furlongs' is not a unit the lab uses",
        ),
        ('min = "70 %"', 'min = "70 %"\nmaximum = "100 %"', "release.viability.maximum: unknown key"),
        (
            'kind = "product"',
            'kind = "product"\ncolour = "blue"',
            "nk-cells-autologous.toml: colour: unknown key",
        ),
        ('name = "Autologous', 'brand = "x"\nname = "Autologous', "product.brand: unknown key"),
        ('duration = "4 h"', 'duration = "4 h"\nlight = "dark"', "shelf_life.thawed.light: unknown key"),
        (
            'alert_above = "20 h"',
            'alert_above = "20 h"\nwarn = "1 h"',
            "in_process.apheresis.time_since_collection.warn: unknown key",
        ),
        ('version = "1.1"\n', "", "nk-cells-autologous.toml: version: missing"),
        ('id = "nk-cells-autologous"\n', "", "nk-cells-autologous.toml: id: missing"),
        ("effective = 2025-01-15\n", "", "effective: missing"),
        ('version = "1.1"', "version = 1.1", "version: 1.1 is not a text"),
        ('version = "1.1"', 'version = "one"', "version: 'one' is not valid"),
        ("effective = 2025-01-15", 'effective = "2025-01-15"', "effective: '2025-01-15' is not a date"),
        ("effective = 2025-01-15", "effective = 2025-01-15T10:00:00", "effective: datetime"),
        ('kind = "product"', 'kind = "device"', "kind: 'device' is not one of product, study"),
        ('kind = "product"', 'kind = "study"', "nk-cells-autologous.toml: max_dose_per_kg: missing"),
        (
            "[in_process.harvest.viability]",
            "[in_process.freezing.viability]",
            "in_process.freezing: unknown step",
        ),
        (
            'alert_below = "2.5 log"',
            'alert_below = "1.5 log"',
            "in_process.cd3_depletion.log_depletion.alert_below: lies outside the action limit action_below",
        ),
        (
            'alert_below = "2.5 log"',
            'alert_below = "25 %"',
            "log_depletion.alert_below: '25 %' is a percentage, but T-cell log depletion is a log reduction",
        ),
        (
            'alert_above = "20 h"',
            'alert_above = "20 mL"',
            "'20 mL' is a volume, but time since collection is a time",
        ),
        (
            'cd3_test = "cd3"',
            'cd3_test = "cd4"',
            "release.cd3_per_kg.cd3_test: must name a release test given in %",
        ),
        ('check = "dose"', 'check = "limits"\nmin = "1 cells/kg"', "release.dose.tolerance: unknown key"),
        ('check = "dose"', 'check = "magic"', "release.dose.check: 'magic' is not one of"),
        (
            'tolerance = ["80 %", "120 %"]',
            'tolerance = ["80 %"]',
            "release.dose.tolerance: must be two texts",
        ),
        (
            'tolerance = ["80 %", "120 %"]',
            'tolerance = ["80 mL", "120 %"]',
            "release.dose.tolerance: '80 mL' is a volume, but the dose tolerance is a percentage",
        ),
        (
            'tolerance = ["80 %", "120 %"]',
            'tolerance = ["110 %", "120 %"]',
            "release.dose.tolerance: must run",
        ),
        (
            'max_per_kg = "1e8 cells/kg"',
            'max_per_kg = "1e8 cells"',
            "release.dose.max_per_kg: '1e8 cells' is a cell",
        ),
        ('isbt128_product_code = "S1234"', 'isbt128_product_code = "1234"', "product.isbt128_product_code"),
        (
            'pending_at_interim_release = ["fresh"]',
            'pending_at_interim_release = ["frozen"]',
            "release.sterility.pending_at_interim_release: 'frozen' is not a kind of dose unit",
        ),
        (
            'pending_at_interim_release = ["fresh"]',
            'pending_allowed_at_release = "yes"',
            "release.sterility.pending_allowed_at_release: 'yes' is not true or false",
        ),
        ('accept = ["negative"]', "accept = []", "release.mycoplasma.accept: must be a non-empty list"),
        (
            'greater_than = "20 %"',
            'greater_than = "20 %"\nless_than = "10 %"\nmin = "30 %"\nmax = "5 %"',
            "release.potency.min: is above max",
        ),
        ('max = "1 %"', 'max = "1 %"\nnote = "none"', "release.cd19.note: unknown key"),
        ('id = "nk-cells-autologous"', 'id = "nk-cells-autologous"\nid = "again"', "not a valid TOML file"),
    ],
)
def test_invalid_product_files_are_refused_naming_file_and_key(tmp_path, old, new, message):
    path = write(tmp_path, PRODUCT, old, new)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert message in str(error.value)
    assert str(error.value).startswith("nk-cells-autologous.toml: ")


def test_a_limit_test_needs_a_limit_and_a_product_exactly_one_dose(tmp_path):
    path = write(tmp_path, PRODUCT, 'max = "1 %"  # patients are MRD positive\n', "")
    with pytest.raises(SpecError, match=re.escape("release.cd19.min: a limit test needs at least one of")):
        load_spec(path)
    text = PRODUCT.read_text(encoding="utf-8")
    dose = text[text.index("[release.dose]") : text.index("[release.gram_stain]")]
    path = write(
        tmp_path,
        PRODUCT,
        "[release.gram_stain]",
        dose.replace("[release.dose]", "[release.dose2]") + "[release.gram_stain]",
    )
    with pytest.raises(
        SpecError,
        match=re.escape('release.dose: a product specification needs exactly one test with check = "dose"'),
    ):
        load_spec(path)
    path = write(tmp_path, PRODUCT, dose, "")
    with pytest.raises(SpecError, match="exactly one test"):
        load_spec(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("infusion = 2", "infusion = 3", "dose_schedule[1].infusion: infusions must be numbered 1, 2, 3"),
        (
            'dose_per_kg = "1.0e8 cells/kg"',
            'dose_per_kg = "3.16e8 cells/kg"',
            "dose_schedule[4].dose_per_kg: must not exceed max_dose_per_kg",
        ),
        (
            'dose_per_kg = "3.16e6 cells/kg"',
            'dose_per_kg = "3.16e5 cells/kg"',
            "dose_schedule[1].dose_per_kg: must not exceed max_dose_per_kg nor fall below the last dose",
        ),
        (
            'dose_per_kg = "3.16e6 cells/kg"',
            'dose_per_kg = "3.16e6 cells/mL"',
            "dose_schedule[1].dose_per_kg: '3.16e6 cells/mL' is a cell concentration, "
            "but a dose is a dose per kg",
        ),
        ("max_infusions = 5", "max_infusions = 4", "dose_schedule: needs 1 to max_infusions (4) entries"),
        ("max_infusions = 5", "max_infusions = true", "max_infusions: True is not a whole number"),
        ('min_interval = "28 d"', 'min_interval = "28 mL"', "min_interval: '28 mL' is a volume"),
        ('trial_id = "NCT02185781"', 'trial_id = "2185781"', "trial_id: '2185781' is not valid"),
        ("infusion = 1\n", "infusion = 1\nweight = 3\n", "dose_schedule[0].weight: unknown key"),
        ('kind = "study"', 'kind = "product"', "product: 'nk-cells-autologous' is not a table"),
    ],
)
def test_invalid_study_files_are_refused_naming_file_and_key(tmp_path, old, new, message):
    path = write(tmp_path, STUDY, old, new)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value).startswith("study-nct02185781.toml: ")
    assert message in str(error.value)


def test_one_id_and_version_may_appear_once(tmp_path):
    write(tmp_path, STUDY, "# Study", "# Study", name="a.toml")
    write(tmp_path, STUDY, "# Study", "# A copy", name="b.toml")
    with pytest.raises(SpecError, match=re.escape("b.toml: study-nct02185781 version 1.0 is also in a.toml")):
        load_specs(tmp_path)


def test_the_version_in_force_is_the_latest_effective_on_the_date(tmp_path):
    write(tmp_path, STUDY, 'version = "1.0"', 'version = "1.0"', name="v1.toml")
    write(
        tmp_path,
        STUDY,
        'version = "1.0"\neffective = 2025-01-15',
        'version = "1.10"\neffective = 2025-06-01',
        name="v2.toml",
    )
    specs = load_specs(tmp_path)
    assert in_force(specs, "study-nct02185781", date(2025, 5, 31)).version == "1.0"
    assert in_force(specs.values(), "study-nct02185781", date(2025, 6, 1)).version == "1.10"
    with pytest.raises(SpecError, match="no specification study-nct02185781 is in force on 2024-12-31"):
        in_force(specs, "study-nct02185781", date(2024, 12, 31))


def test_change_control_refuses_changed_content_under_the_same_version(tmp_path):
    spec = load_spec(STUDY)
    check_change_control(spec, {})
    check_change_control(spec, {(spec.id, spec.version): spec.content_hash, ("other", "1.0"): "0" * 64})
    check_change_control(spec, {(spec.id, "0.9"): "0" * 64})
    changed = load_spec(write(tmp_path, STUDY, "# Study", "# Study, edited"))
    assert changed.content_hash != spec.content_hash
    with pytest.raises(SpecError) as error:
        check_change_control(changed, {(spec.id, spec.version): spec.content_hash})
    assert (
        "study-nct02185781.toml: study-nct02185781 version 1.0: content changed without a new version"
        in str(error.value)
    )


def test_which_units_may_wait_for_a_pending_test_is_specification_data():
    sterility = load_spec(PRODUCT).criterion("sterility")
    assert sterility.pending_at_interim_for == ("fresh",)
    assert sterility.may_be_pending("FRESH") and not sterility.may_be_pending("CRYOPRESERVED")


def test_the_older_boolean_reads_as_the_fresh_units_interim_certificate(tmp_path):
    older = PRODUCT.read_text().replace('pending_at_interim_release = ["fresh"]', "pending_allowed_at_release = true")
    path = tmp_path / PRODUCT.name
    path.write_text(older)
    assert load_spec(path).criterion("sterility").pending_at_interim_for == ("fresh",)
