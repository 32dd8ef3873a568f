"""Onboarding step 5: PLACES for events and competitions (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from reseller_sync.domain.errors import ErrorCategory, MappingError
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.places import build_places
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.fnac.writer import write_file

SEATS_PER_PERFORMANCE = 5 * 25 + 15 * 20 + 10 * 20  # P2 rows 1-5, B rows 1-15, K rows 1-10


def test_the_concert_gives_fnac_every_seat_and_the_pit(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    places = build_places(demo_session, fnac_settings, "EVT-LUMEN")

    assert not places.skipped
    name, data = write_file(FileType.PLACES, "M0427", 1, places.records)
    frame = read_file(name, data).frame
    assert len(frame) == 3 * (SEATS_PER_PERFORMANCE + 1)
    assert places.seats == 3 * SEATS_PER_PERFORMANCE
    assert set(frame["code_manifestation"]) == {"004512"}
    assert set(frame["code_salle"]) == {"ZEN01"}
    assert set(frame["code_allotement"]) == {"A1"}
    assert frame["date_seance"].nunique() == 3
    seats = frame[frame["rang"].notna()]
    assert set(seats["quantite"]) == {1}
    by_bloc = seats.groupby("code_bloc")["type_tarif"].agg(["unique", "size"])
    # P2 (parterre, CAT1) is FNAC's bloc B; lower stand B is TB2 (CAT2); upper K is TH2 (CAT3)
    assert {bloc: list(row["unique"]) for bloc, row in by_bloc.iterrows()} == {
        "B": ["1"],
        "TB2": ["2"],
        "TH2": ["3"],
    }
    assert by_bloc["size"].to_dict() == {"B": 3 * 125, "TB2": 3 * 300, "TH2": 3 * 200}
    assert not seats.duplicated(["date_seance", "code_bloc", "rang", "place"]).any()
    pit = frame[frame["rang"].isna()]
    assert pit[["code_bloc", "quantite", "type_tarif"]].drop_duplicates().to_dict("records") == [
        {"code_bloc": "FOSSE", "quantite": 200, "type_tarif": "4"}
    ]
    assert pit["place"].isna().all()
    assert places.free_places == 3 * 200


def test_a_configuration_specific_category_wins(
    demo_session: Session, fnac_settings: FnacSettings
) -> None:
    records = build_places(demo_session, fnac_settings, "CMP-LYON-NANTES").records
    blocs = records.drop_duplicates("code_bloc").set_index("code_bloc")
    assert blocs["type_tarif"].to_dict() == {"N1": "2", "N2": "1", "VIRSUD": "4"}
    assert set(records["code_salle"]) == {"GERL01"}
    virage = records[records["code_bloc"] == "VIRSUD"]
    assert list(virage["quantite"]) == [500]
    assert pd.isna(virage["rang"].iloc[0])


@pytest.mark.parametrize("code", ["PASS-MAH-JOUR", "PASS-MAH-LIBRE"])
def test_a_pass_has_no_places_to_send(
    demo_session: Session, fnac_settings: FnacSettings, code: str
) -> None:
    places = build_places(demo_session, fnac_settings, code)
    assert places.skipped
    assert places.records.empty
    assert places.skipped_reason is not None
    assert "PLACES is never sent for a pass (spec 8.2)" in places.skipped_reason


def test_every_missing_mapping_is_named_once(
    demo_session: Session, fnac_settings: FnacSettings, mapping_dir: Path
) -> None:
    shared = mapping_dir / "_shared.yaml"
    text = shared.read_text(encoding="utf-8")
    text = text.replace('          P2: "B"\n', "").replace('  CAT3: "3"\n', "")
    shared.write_text(text, encoding="utf-8")
    mappings = load_repository(mapping_dir).for_product("EVT-LUMEN")

    with pytest.raises(MappingError) as raised:
        build_places(demo_session, fnac_settings, "EVT-LUMEN", mappings=mappings)

    error = raised.value
    assert error.category is ErrorCategory.MAPPING
    assert [(p.value, p.line) for p in error.problems] == [("PARTERRE/P2", None), ("CAT3", None)]
    assert "has no FNAC bloc" in error.problems[0].reason
    assert "has no FNAC type de tarif" in error.problems[1].reason
    assert str(error.problems[0].file).endswith("mappings/_shared.yaml")
