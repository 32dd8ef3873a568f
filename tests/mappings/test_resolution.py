"""Resolution both ways, vectorised: precedence, alternatives, unknown values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reseller_sync.config.paths import PROJECT_ROOT
from reseller_sync.fnac.mappings import VOCABULARY, MappingKind, load_mappings
from reseller_sync.mappings import MappingRepository, unresolved, unresolved_problems

Edit = Callable[[Path, str, str], None]
DEMO = load_mappings(PROJECT_ROOT / "include" / "mappings" / "fnac")


def test_alternatives_resolve_inbound() -> None:
    event = DEMO.for_product("EVT-LUMEN")
    categories = pd.Series(["0", "15", "20", "22"])

    assert event.from_partner(MappingKind.CATEGORIE_CLIENT, categories).tolist() == [
        "FNAC_PUBLIC",
        "FNAC_ADHERENT",
        "FNAC_ADHERENT",
        "FNAC_CE",
    ]


def test_an_alternative_is_never_sent() -> None:
    event = DEMO.for_product("EVT-LUMEN")

    sent = event.to_partner(
        MappingKind.CATEGORIE_CLIENT, pd.Series(["FNAC_PUBLIC", "FNAC_ADHERENT"])
    )

    assert sent.iloc[0] == "0"
    assert pd.isna(sent.iloc[1])


def test_category_specific_to_a_configuration_wins_over_the_generic_one() -> None:
    match = DEMO.for_product("CMP-LYON-NANTES")
    concert = DEMO.for_product("EVT-LUMEN")
    categories = pd.Series(["CAT1", "FOSSE", "VIRAGE"])

    assert match.to_partner(MappingKind.TYPE_TARIF, categories, "STADE-MATCH").tolist() == [
        "1",
        "4",
        "4",
    ]
    assert match.from_partner(MappingKind.TYPE_TARIF, pd.Series(["4"]), "STADE-MATCH").tolist() == [
        "VIRAGE"
    ]
    assert concert.from_partner(
        MappingKind.TYPE_TARIF, pd.Series(["4"]), "ARENA-CONCERT"
    ).tolist() == ["FOSSE"]
    outside = concert.to_partner(MappingKind.TYPE_TARIF, categories, "ARENA-CONCERT")
    assert pd.isna(outside.iloc[2]), "VIRAGE is mapped for STADE-MATCH only"


def test_product_file_wins_over_the_shared_file() -> None:
    day_pass = DEMO.for_product("PASS-MAH-JOUR")
    concert = DEMO.for_product("EVT-LUMEN")

    assert day_pass.to_partner(MappingKind.ALLOTEMENT, pd.Series(["Q-FNAC"])).tolist() == ["P1"]
    assert concert.to_partner(MappingKind.ALLOTEMENT, pd.Series(["Q-FNAC"])).tolist() == ["A1"]
    assert day_pass.from_partner(MappingKind.TYPE_TARIF, pd.Series(["1"])).tolist() == ["ENTREE"]
    assert concert.from_partner(MappingKind.TYPE_TARIF, pd.Series(["1"])).tolist() == ["CAT1"]


def test_block_wins_over_its_zone(mappings: Path, edit: Edit) -> None:
    edit(
        mappings / "_shared.yaml",
        '      NORD:\n        blocks:\n          N1: "N1"',
        '      NORD:\n        bloc: "NORD"\n        blocks:\n          N1: "N1"',
    )
    edit(mappings / "_shared.yaml", '          N3: "N3"\n', "")
    match = load_mappings(mappings).for_product("CMP-LYON-NANTES")
    zones = pd.Series(["NORD", "NORD", "VIRAGE", "NORD", "SUD"])
    blocks = pd.Series(["N1", "N3", "VS", "N9", "S1"])

    blocs = match.bloc_to_partner(zones, blocks, "STADE-MATCH")

    assert blocs.tolist()[:4] == ["N1", "NORD", "VIRSUD", "NORD"]
    assert pd.isna(blocs.iloc[4])
    back = match.bloc_from_partner(pd.Series(["N1", "NORD", "VIRSUD", "X"]), "STADE-MATCH")
    assert back["zone"].tolist()[:3] == ["NORD", "NORD", "VIRAGE"]
    assert back["block"].tolist()[0] == "N1"
    assert back["block"].isna().tolist() == [False, True, True, True]
    assert pd.isna(back["zone"].iloc[3])


def test_vectorised_resolution_keeps_the_index_and_lists_unknown_values() -> None:
    concert = DEMO.for_product("EVT-LUMEN")
    values = pd.Series(["1", "15", "31", None, "22", "99"] * 20_000)
    values.index = range(1, len(values) + 1)  # data line numbers, as the codec gives them

    tariffs = concert.from_partner(MappingKind.CATEGORIE_CLIENT, values)

    assert tariffs.index.equals(values.index)
    assert tariffs.iloc[:6].tolist()[1] == "FNAC_ADHERENT"
    missing = unresolved(values, tariffs)
    assert missing.iloc[:3].to_dict() == {1: "1", 3: "31", 6: "99"}
    assert len(missing) == 60_000, "None is no value, not an unresolved one"
    problems = unresolved_problems(
        VOCABULARY,
        MappingKind.CATEGORIE_CLIENT,
        values.iloc[:6],
        tariffs.iloc[:6],
        product="EVT-LUMEN",
        inbound=True,
        file="VENTES_M0427_000042_20261128130503.csv",
        column="categorie_client",
    )
    assert [(problem.line, problem.value) for problem in problems] == [
        (1, "1"),
        (3, "31"),
        (6, "99"),
    ]
    assert problems[0].reason == ("FNAC catégorie de client maps to no tariff of product EVT-LUMEN")


def test_inbound_manifestations_find_their_product() -> None:
    codes = pd.Series(["004512", "000981", "004512", "123456"])

    products = DEMO.products_from_partner(codes)

    assert products.iloc[:3].tolist() == ["EVT-LUMEN", "PASS-MAH-JOUR", "EVT-LUMEN"]
    assert pd.isna(products.iloc[3])


def test_bloc_needs_its_own_function() -> None:
    with pytest.raises(ValueError, match="bloc_to_partner"):
        DEMO.for_product("EVT-LUMEN").to_partner(MappingKind.BLOC, pd.Series(["P1"]))


def _repository(tmp_path: Path, categories: dict[str, str]) -> MappingRepository:
    lines = "".join(f'  {category}: "{code}"\n' for category, code in categories.items())
    (tmp_path / "_shared.yaml").write_text(f"categories:\n{lines}", encoding="utf-8")
    (tmp_path / "P.yaml").write_text('manifestation: "000001"\n', encoding="utf-8")
    return load_mappings(tmp_path)


@given(
    st.dictionaries(
        st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True),
        st.from_regex(r"[0-9]{1,2}", fullmatch=True),
        min_size=1,
        max_size=12,
    )
)
def test_sending_then_receiving_gives_back_every_unambiguous_category(
    tmp_path_factory: pytest.TempPathFactory, categories: dict[str, str]
) -> None:
    mappings = _repository(tmp_path_factory.mktemp("m"), categories).for_product("P")
    organiser = pd.Series(list(categories))

    back = mappings.from_partner(
        MappingKind.TYPE_TARIF, mappings.to_partner(MappingKind.TYPE_TARIF, organiser)
    )

    unique = {code for code in categories.values() if list(categories.values()).count(code) == 1}
    for category, returned in zip(organiser, back, strict=True):
        if categories[category] in unique:
            assert returned == category
        else:
            assert pd.isna(returned), "a type de tarif claimed twice cannot be told apart"
