"""The engine reads any reseller's vocabulary: its keys, formats and words, never FNAC's."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from reseller_sync.core import resellers
from reseller_sync.core.resellers import (
    Acknowledgement,
    InterfaceKind,
    Placement,
    ResellerType,
    SalesReporting,
)
from reseller_sync.domain.products import ProductKind
from reseller_sync.mappings import (
    Concept,
    KindRule,
    MappingVocabulary,
    load_repository,
    unresolved_problems,
)

OTHER = ResellerType(
    code="other",
    name="Other",
    contract="other-exchange-v1",
    interface=InterfaceKind.FILES,
    product_kinds=frozenset({ProductKind.EVENT}),
    placements=frozenset({Placement.SEATED}),
    acknowledgement=Acknowledgement.ANSWER_PER_BATCH,
    sales_reporting=SalesReporting.EVENT_LOG,
    nightly=(),
)

CODE = re.compile(r"[A-Z0-9]{1,10}")


def rule(kind: str, concept: Concept, key: str, term: str, single: bool = True) -> KindRule:
    return KindRule(kind, concept, key, term, CODE, "1 to 10 capitals or digits", single)


VOCABULARY = MappingVocabulary(
    reseller="other",
    rules=(
        rule("event", Concept.PRODUCT, "event", "event"),
        rule("venue", Concept.CONFIGURATION, "venue", "venue code"),
        rule("section", Concept.ZONE, "section", "section"),
        rule("price_level", Concept.CATEGORY, "categories", "price level"),
        rule("price_type", Concept.TARIFF, "tariffs", "price type", single=False),
    ),
)
"""No quota: an organiser's ``quotas`` key is unknown to this reseller."""


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    real = resellers.reseller_type
    monkeypatch.setattr(
        resellers, "reseller_type", lambda code: OTHER if code == "other" else real(code)
    )


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_files_are_read_with_the_vocabulary_keys(tmp_path: Path) -> None:
    write(
        tmp_path,
        "_shared.yaml",
        'tariffs:\n  ADULT: "ADULT|AD"\ncategories:\n  CAT1: "1"\n'
        'configurations:\n  ARENA:\n    venue: "ZEN"\n    zones:\n      FOSSE: "FO"\n'
        '      BAS:\n        blocks:\n          A: "BA"\n',
    )
    write(tmp_path, "EVT.yaml", 'event: "E1"\n')

    repository = load_repository(VOCABULARY, tmp_path)

    assert repository.faults == ()
    assert repository.partner_products() == {"E1": "EVT"}
    mappings = repository.for_product("EVT")
    assert mappings.partner_product == "E1"
    assert mappings.configurations == ("ARENA",)
    tariffs = mappings.from_partner("price_type", pd.Series(["AD", "ADULT", "X"]))
    assert tariffs.tolist()[:2] == ["ADULT", "ADULT"]
    assert mappings.to_partner("venue", pd.Series(["ARENA"])).tolist() == ["ZEN"]
    sections = mappings.bloc_to_partner(pd.Series(["FOSSE", "BAS"]), pd.Series(["1", "A"]), "ARENA")
    assert sections.tolist() == ["FO", "BA"]
    with pytest.raises(ValueError, match="bloc_to_partner"):
        mappings.to_partner("section", pd.Series(["FOSSE"]))


def test_faults_speak_the_reseller_words(tmp_path: Path) -> None:
    write(tmp_path, "_shared.yaml", 'categories:\n  CAT1: "1|2"\nquotas:\n  Q: "A1"\n')
    write(tmp_path, "EVT.yaml", 'event: "e-1"\nmanifestation: "004512"\n')

    faults = load_repository(VOCABULARY, tmp_path).faults

    assert [(fault.key, fault.reason, fault.fix) for fault in faults] == [
        (
            "categories.CAT1",
            "category CAT1 maps to several Other price level values (1|2), "
            "but it is sent to Other and needs exactly one",
            "keep a single value ('|' alternatives are only for the price type values of a tariff)",
        ),
        ("quotas", "unknown key 'quotas'", "use one of: tariffs, categories, configurations"),
        (
            "event",
            "product EVT: 'e-1' is not a valid Other event (expected 1 to 10 capitals or digits)",
            "correct it with the code Other gave",
        ),
        (
            "manifestation",
            "unknown key 'manifestation'",
            "use one of: event, tariffs, categories, configurations",
        ),
    ]


def test_unresolved_values_name_the_reseller() -> None:
    (problem,) = unresolved_problems(
        VOCABULARY,
        "price_type",
        pd.Series(["CE"]),
        pd.Series([None], dtype="str"),
        product="EVT",
        inbound=True,
    )

    assert problem.reason == "Other price type maps to no tariff of product EVT"


def test_a_vocabulary_maps_each_concept_once() -> None:
    with pytest.raises(ValueError, match="a concept has two rules"):
        MappingVocabulary(
            "other",
            (
                rule("event", Concept.PRODUCT, "event", "event"),
                rule("show", Concept.PRODUCT, "show", "show"),
            ),
        )
    with pytest.raises(ValueError, match="the files' structure"):
        MappingVocabulary("other", (rule("zone", Concept.ZONE, "zones", "zone"),))
