"""Reading mapping files: the demo files are clean, and each writing fault is located."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reseller_sync.config.paths import PROJECT_ROOT
from reseller_sync.domain.errors import MappingError
from reseller_sync.fnac.mappings import VOCABULARY, MappingKind, load_mappings, load_repository
from reseller_sync.mappings import MappingFault

Edit = Callable[[Path, str, str], None]


def faults_of(mappings: Path) -> list[MappingFault]:
    return list(load_repository(mappings).faults)


def test_demo_mapping_files_have_no_fault() -> None:
    repository = load_mappings(PROJECT_ROOT / "include" / "mappings" / "fnac")

    assert repository.products == (
        "CMP-LYON-NANTES",
        "EVT-LUMEN",
        "PASS-MAH-JOUR",
        "PASS-MAH-LIBRE",
    )
    assert repository.partner_products() == {
        "004512": "EVT-LUMEN",
        "004620": "CMP-LYON-NANTES",
        "000981": "PASS-MAH-JOUR",
        "000982": "PASS-MAH-LIBRE",
    }


def test_the_include_dir_variable_moves_the_mappings(mappings: Path, edit: Edit) -> None:
    edit(mappings / "EVT-LUMEN.yaml", '"004512"', '"004513"')

    assert load_repository().for_product("EVT-LUMEN").partner_product == "004513"


def test_codes_keep_their_leading_zeros_even_unquoted(mappings: Path, edit: Edit) -> None:
    edit(mappings / "EVT-LUMEN.yaml", '"004512"', "004512")

    assert load_mappings(mappings).for_product("EVT-LUMEN").partner_product == "004512"


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "EVT-LUMEN.yaml",
            '"004512"',
            '"4512"',
            "product EVT-LUMEN: '4512' is not a valid FNAC manifestation "
            "(expected 6 to 10 digits, e.g. 004512, spec section 2)",
        ),
        (
            "_shared.yaml",
            'salle: "ZEN01"',
            'salle: "ZENITH-PARIS"',
            "configuration ARENA-CONCERT: 'ZENITH-PARIS' is not a valid FNAC salle "
            "(expected 3 to 8 letters or digits, spec section 2)",
        ),
        (
            "_shared.yaml",
            'P1: "A"',
            'P1: "A-1"',
            "zone or block PARTERRE/P1: 'A-1' is not a valid FNAC bloc "
            "(expected 1 to 6 letters or digits, spec section 2)",
        ),
        (
            "_shared.yaml",
            'CAT3: "3"',
            'CAT3: "103"',
            "category CAT3: '103' is not a valid FNAC type de tarif "
            "(expected 1 or 2 digits, spec section 2)",
        ),
        (
            "_shared.yaml",
            'FNAC_ADHERENT: "15|20"',
            'FNAC_ADHERENT: "15|020"',
            "tariff FNAC_ADHERENT: '020' is not a valid FNAC catégorie de client "
            "(expected an integer 0 to 99 without leading zero, spec section 2)",
        ),
        (
            "PASS-MAH-JOUR.yaml",
            'Q-FNAC: "P1"',
            'Q-FNAC: "P 1"',
            "quota Q-FNAC: 'P 1' is not a valid FNAC allotement "
            "(expected 1 to 6 letters or digits, spec section 2)",
        ),
    ],
)
def test_bad_fnac_code_format(
    mappings: Path, edit: Edit, file: str, old: str, new: str, expected: str
) -> None:
    line = next(
        number
        for number, text in enumerate((mappings / file).read_text().splitlines(), start=1)
        if old in text
    )
    edit(mappings / file, old, new)

    (fault,) = faults_of(mappings)

    assert fault.reason == expected
    assert fault.fix == "correct it with the code FNAC gave"
    assert fault.file == str(mappings / file)
    assert fault.line == line


def test_alternative_on_an_outbound_entity(mappings: Path, edit: Edit) -> None:
    edit(mappings / "_shared.yaml", 'CAT2: "2"', 'CAT2: "2|3"')

    (fault,) = faults_of(mappings)

    assert fault.reason == (
        "category CAT2 maps to several FNAC type de tarif values (2|3), "
        "but it is sent to FNAC and needs exactly one"
    )
    assert "'|' alternatives are only for the catégories de client of a tariff" in fault.fix
    assert fault.key == "categories.CAT2"
    with pytest.raises(MappingError) as caught:
        load_mappings(mappings)
    assert "categories.CAT2" in str(caught.value)


def test_unknown_keys_are_refused(mappings: Path, edit: Edit) -> None:
    edit(mappings / "EVT-LUMEN.yaml", "manifestation:", "manifestaton:")
    edit(mappings / "_shared.yaml", "\nquotas:", "\nmanifestation: '004512'\nquotas:")

    faults = sorted(faults_of(mappings), key=lambda fault: str(fault.file))

    assert [(Path(str(f.file)).name, f.reason) for f in faults] == [
        ("EVT-LUMEN.yaml", "unknown key 'manifestaton'"),
        ("_shared.yaml", "unknown key 'manifestation'"),
    ]
    assert faults[0].fix == "use one of: manifestation, tariffs, categories, quotas, configurations"
    assert faults[1].fix == "use one of: tariffs, categories, quotas, configurations"


def test_empty_value_and_key_written_twice(mappings: Path, edit: Edit) -> None:
    edit(mappings / "_shared.yaml", 'FNAC_CE: "22"', "FNAC_CE:")
    edit(mappings / "_shared.yaml", 'CAT3: "3"', 'CAT3: "3"\n  CAT1: "9"')

    reasons = {fault.key: fault.reason for fault in faults_of(mappings)}

    assert reasons == {
        "tariffs.FNAC_CE": "tariff FNAC_CE has nothing where its FNAC catégorie de client "
        "is expected",
        "categories.CAT1": "key written twice (the first one would be silently ignored)",
    }


def test_value_mapped_in_two_shared_files(mappings: Path) -> None:
    (mappings / "_tariffs.yaml").write_text('tariffs:\n  FNAC_CE: "22"\n', encoding="utf-8")

    (fault,) = faults_of(mappings)

    assert fault.reason.startswith("tariff FNAC_CE is mapped in two shared files")
    assert fault.fix == "keep it in one shared file only"


def test_yaml_syntax_error(mappings: Path, edit: Edit) -> None:
    edit(mappings / "EVT-LUMEN.yaml", 'manifestation: "004512"', 'manifestation: ["004512"')

    (fault,) = faults_of(mappings)

    assert fault.reason.startswith("not valid YAML")
    assert fault.line is not None


def test_kinds_cover_the_spec_vocabulary() -> None:
    assert set(VOCABULARY.kinds) == set(MappingKind)
    assert {kind.value for kind in MappingKind} == {
        "manifestation",
        "salle",
        "bloc",
        "type_tarif",
        "categorie_client",
        "allotement",
    }
