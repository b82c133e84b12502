"""The site's flow population names: the file of specs/ loads, a wrong one is refused with its place."""

import pytest

from manufacturing.instruments.populations import (
    DEFAULT_FILE,
    FLOW_KEYS,
    PopulationsError,
    flow_populations,
    gate_name_key,
    parse_populations,
)


def test_the_site_file_names_every_reported_population():
    populations = flow_populations()
    assert tuple(populations) == FLOW_KEYS
    assert DEFAULT_FILE.parent.name == "instruments" and DEFAULT_FILE.parent.parent.name == "specs"
    nk = populations["nk_fraction"]
    assert nk.is_named("CD56+CD3-") and nk.is_named("cd56+ cd3-") and nk.is_named("NK")
    assert not nk.is_named("CD3+") and nk.is_reference("Lymphocytes")
    assert populations["cd3_fraction"].is_named("CD3+") and populations["cd19_fraction"].is_named("CD19+")


def test_gate_names_are_compared_without_case_and_spaces():
    assert gate_name_key(" CD56+ CD3- ") == gate_name_key("cd56+cd3-")


VALID = '[nk_fraction]\npopulations = ["NK"]\n[cd3_fraction]\npopulations = ["CD3+"]\n' \
        '[cd19_fraction]\npopulations = ["CD19+"]\nof = "parent"\n'


def test_a_population_is_of_its_parent_unless_the_file_names_a_gate():
    populations = parse_populations(VALID.encode())
    assert populations["cd19_fraction"].of is None and populations["nk_fraction"].of is None
    assert populations["nk_fraction"].title == "nk_fraction"


@pytest.mark.parametrize(("content", "message"), [
    ("not = [toml", "not a valid TOML file"),
    (VALID + "[cd4_fraction]\npopulations = [\"CD4+\"]\n", "cd4_fraction: unknown population"),
    (VALID.partition("[cd19_fraction]")[0], "cd19_fraction: the population is not named"),
    (VALID.replace('["CD3+"]', "[]"), "cd3_fraction.populations: a list of gate names is required"),
    (VALID.replace('["CD3+"]', '"CD3+"'), "cd3_fraction.populations: a list of gate names is required"),
    (VALID.replace('["CD3+"]', '["nk "]'), "'nk' names both nk_fraction and cd3_fraction"),
    (VALID.replace('of = "parent"', "of = []"), "cd19_fraction.of: a list of gate names is required"),
    (VALID.replace('of = "parent"', 'gate = "parent"'), "cd19_fraction.gate: unknown key"),
])
def test_a_wrong_population_file_is_refused_with_its_place(content, message):
    with pytest.raises(PopulationsError, match=message.replace("+", r"\+")):
        parse_populations(content.encode())
