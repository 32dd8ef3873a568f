"""FNAC's records as canonical lines: VENTES and TEST tickets as sale lines, ANNUL lines as
cancellation lines (``core.lines``), for the reseller-neutral integration.

Each VENTES chunk is resolved through the mappings, column by column:
product (manifestation), performance (séance), block and seat or free place
(salle, bloc, rang, place), seat category (type de tarif), tariff
(catégorie de client), FNAC's quota (allotement). A line that does not
resolve is left out of the batch and reported with its FNAC column and value:
a value with no mapping is a mapping problem; a place or performance the box
office does not have is an external one. The integration then checks the
lines against the box office (quota, prices, ids) and names FNAC's columns
through :data:`COLUMNS`.

The buyer's contact details never reach this module: the codec drops them
where the file is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.catalogue import ids_by_code, seats_of_blocks
from reseller_sync.boxoffice.models import (
    Block,
    Performance,
    Product,
    SeatCategory,
    SeatingConfiguration,
    Tariff,
    Zone,
)
from reseller_sync.core.lines import (
    CANCELLATION_LINES,
    SALE_LINES,
    LineBatch,
    LineProblems,
    ProblemKind,
)
from reseller_sync.domain.errors import Problem
from reseller_sync.domain.products import SEATED_KINDS
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.mappings import VOCABULARY, MappingKind
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.integration.settings import IntegrationSettings
from reseller_sync.mappings.repository import (
    MappingRepository,
    ProductMappings,
    unresolved_problems,
)

COLUMNS: dict[str, str] = {
    "reseller_order_ref": "id_vente",
    "reseller_ticket_ref": "id_billet",
    "barcode": "code_barre",
    "performance_id": "date_seance",
    "seat_id": "place",
    "block_id": "code_bloc",
    "category_id": "type_tarif",
    "tariff_id": "categorie_client",
    "reseller_tariff_ref": "categorie_client",
    "price": "prix_ttc",
    "commission": "commission",
    "currency": "devise",
    "beneficiary_first_name": "prenom_beneficiaire",
    "beneficiary_last_name": "nom_beneficiaire",
    "point_of_sale_ref": "code_point_vente",
    "point_of_sale_name": "libelle_point_vente",
    "sold_at": "date_vente",
    "quota": "code_allotement",
    "reseller_cancellation_ref": "id_annulation",
    "refund_amount": "montant_rembourse",
    "cancelled_at": "date_annulation",
}
"""FNAC's column for each canonical column (VENTES, TEST and ANNUL), named in problems."""

MAPPINGS_DIR = f"include/mappings/{RESELLER_TYPE.code}/"

RESOLUTION_COLUMNS = (
    "code_manifestation",
    "date_seance",
    "code_salle",
    "code_bloc",
    "rang",
    "place",
    "type_tarif",
    "categorie_client",
    "code_allotement",
)
"""The columns of a sales line that locate it in the box office."""
RESOLVED_COLUMNS = ("performance_id", "block_id", "seat_id", "category_id", "tariff_id")
"""What resolution finds for each line."""


def integration_settings(settings: FnacSettings) -> IntegrationSettings:
    """What the integration needs of FNAC's settings."""
    return IntegrationSettings.of_instance(
        settings,
        name=RESELLER_TYPE.name,
        columns=COLUMNS,
        cancels_test_tickets=False,  # spec 7.2: FNAC sends no ANNUL for test tickets
    )


# --------------------------------------------------------------------------- sales


def sale_batches(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    file_name: str,
    chunks: pd.DataFrame | Iterable[pd.DataFrame],
) -> Iterator[LineBatch]:
    """The sale lines of a VENTES or TEST file, chunk by chunk (the reader's, in file order)."""
    for chunk in [chunks] if isinstance(chunks, pd.DataFrame) else chunks:
        yield sale_batch(session, settings, repository, file_name, chunk)


def sale_batch(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    file_name: str,
    chunk: pd.DataFrame,
) -> LineBatch:
    """One chunk's sale lines: the lines that resolve, and the problems of the others."""
    problems = LineProblems()
    if chunk.empty:
        return LineBatch(SALE_LINES.empty(), problems, records=0)
    found = _resolve(session, settings, repository, file_name, chunk, problems)
    return LineBatch(_sale_lines(chunk, found), problems, source=chunk, records=len(chunk))


def _sale_lines(chunk: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """The canonical lines of the chunk's resolved lines (``found``, ids by line).

    FNAC's own columns are passed as they are (no copy); the ids become
    integers. A seated line has its seat and no block; a free place its block.
    """
    if found.empty:
        return SALE_LINES.empty()
    found = found.sort_index()
    rows = chunk if len(found) == len(chunk) else chunk.loc[found.index]
    seat = found["seat_id"].astype("Int64")
    return pd.DataFrame(
        {
            "reseller_order_ref": rows["id_vente"].array,
            "reseller_ticket_ref": rows["id_billet"].array,
            "barcode": rows["code_barre"].array,
            "performance_id": found["performance_id"].to_numpy("int64"),
            "seat_id": seat.array,
            "block_id": found["block_id"].astype("Int64").where(seat.isna()).array,
            "category_id": found["category_id"].to_numpy("int64"),
            "tariff_id": found["tariff_id"].to_numpy("int64"),
            "reseller_tariff_ref": rows["categorie_client"].array,
            "price": rows["prix_ttc"].array,
            "commission": rows["commission"].array,
            "currency": rows["devise"].array,
            "beneficiary_first_name": rows["prenom_beneficiaire"].array,
            "beneficiary_last_name": rows["nom_beneficiaire"].array,
            "point_of_sale_ref": rows["code_point_vente"].array,
            "point_of_sale_name": rows["libelle_point_vente"].array,
            "sold_at": rows["date_vente"].array,
        },
        index=rows.index,
        copy=False,
    )


def _add(
    problems: LineProblems,
    kind: ProblemKind,
    rows: pd.DataFrame,
    column: str,
    reason: str,
    file_name: str,
) -> None:
    """One problem per row, quoting the row's value of FNAC's ``column``."""
    if rows.empty:
        return
    values = rows[column] if column in rows else pd.Series(None, index=rows.index)
    problems.of(kind).extend(
        Problem(
            reason,
            file=file_name,
            line=int(line),
            column=column,
            value=None if pd.isna(value) else str(value),
        )
        for line, value in values.items()
    )


def _resolve(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    file_name: str,
    frame: pd.DataFrame,
    problems: LineProblems,
) -> pd.DataFrame:
    """The box-office ids of every line that resolves (``RESOLVED_COLUMNS``, by line);
    the others are reported and left out.

    Only the columns resolution reads go through the per-product steps.
    """
    products = repository.products_from_partner(frame["code_manifestation"])
    problems.mapping.extend(
        Problem(
            f"FNAC manifestation maps to no product in {MAPPINGS_DIR}",
            file=file_name,
            line=int(line),
            column="code_manifestation",
            value=str(value),
        )
        for line, value in frame.loc[products.isna(), "code_manifestation"].items()
    )
    read = frame[[c for c in RESOLUTION_COLUMNS if c in frame.columns]].assign(
        product_code=products
    )
    resolved = [
        _resolve_product(session, settings, repository, file_name, str(code), group, problems)
        for code, group in read[products.notna()].groupby("product_code", sort=True)
    ]
    if not resolved:
        return pd.DataFrame(columns=list(RESOLVED_COLUMNS))
    return pd.concat(resolved).reindex(columns=list(RESOLVED_COLUMNS))


def _resolve_product(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    file_name: str,
    product_code: str,
    lines: pd.DataFrame,
    problems: LineProblems,
) -> pd.DataFrame:
    mappings = repository.for_product(product_code)
    product = session.scalar(select(Product).where(Product.code == product_code))
    if product is None:
        _add(
            problems,
            "mapping",
            lines,
            "code_manifestation",
            f"product {product_code} (from the mappings) is not in the box office",
            file_name,
        )
        return lines.iloc[0:0]
    configuration = product.configuration.code if product.configuration else None
    ok = pd.Series(True, index=lines.index)

    # Séance → performance.
    performances = pd.DataFrame(
        session.execute(
            select(
                Performance.id.label("performance_id"),
                Performance.starts_at,
            ).where(Performance.product_id == product.id)
        ).all(),
        columns=["performance_id", "starts_at"],
    )
    dated = performances[performances["starts_at"].notna()].copy()
    undated = performances[performances["starts_at"].isna()]
    dated["starts_at"] = pd.to_datetime(dated["starts_at"]).astype("datetime64[us]")
    by_date = dated.set_index("starts_at")
    lines["performance_id"] = lines["date_seance"].map(by_date["performance_id"])
    if len(undated) == 1:
        lines.loc[lines["date_seance"].isna(), "performance_id"] = undated["performance_id"].iloc[0]
    unknown = lines["performance_id"].isna()
    _add(
        problems,
        "external",
        lines[unknown],
        "date_seance",
        f"no performance of {product_code} at this date (séance)",
        file_name,
    )
    ok &= ~unknown

    # Type de tarif → seat category; catégorie de client → tariff; allotement → quota.
    category_codes = mappings.from_partner(
        MappingKind.TYPE_TARIF, lines["type_tarif"], configuration
    )
    tariff_codes = mappings.from_partner(MappingKind.CATEGORIE_CLIENT, lines["categorie_client"])
    quota_codes = mappings.from_partner(MappingKind.ALLOTEMENT, lines["code_allotement"])
    for kind, values, resolved, column in (
        (MappingKind.TYPE_TARIF, lines["type_tarif"], category_codes, "type_tarif"),
        (
            MappingKind.CATEGORIE_CLIENT,
            lines["categorie_client"],
            tariff_codes,
            "categorie_client",
        ),
        (MappingKind.ALLOTEMENT, lines["code_allotement"], quota_codes, "code_allotement"),
    ):
        problems.mapping.extend(
            unresolved_problems(
                VOCABULARY,
                kind,
                values,
                resolved,
                product=product_code,
                inbound=True,
                file=file_name,
                column=column,
            )
        )
        ok &= resolved.notna()
    wrong_quota = quota_codes.notna() & (quota_codes != settings.boxoffice.quota)
    _add(
        problems,
        "external",
        lines[wrong_quota],
        "code_allotement",
        f"this allotement is not FNAC's quota {settings.boxoffice.quota}",
        file_name,
    )
    ok &= ~wrong_quota

    lines["category_id"] = category_codes.map(ids_by_code(session, SeatCategory))
    lines["tariff_id"] = tariff_codes.map(ids_by_code(session, Tariff))

    # Salle, bloc, rang, place → block and seat (events and competitions).
    lines["block_id"] = pd.NA
    lines["seat_id"] = pd.NA
    if product.kind in SEATED_KINDS and configuration is not None:
        ok &= _resolve_places(session, mappings, configuration, file_name, lines, problems)
    else:
        has_place = lines["code_bloc"].notna() | lines["rang"].notna()
        _add(
            problems,
            "external",
            lines[has_place],
            "code_bloc",
            f"{product_code} is a pass: its tickets have no bloc or seat",
            file_name,
        )
        ok &= ~has_place
    return lines[ok]


def _resolve_places(
    session: Session,
    mappings: ProductMappings,
    configuration: str,
    file_name: str,
    lines: pd.DataFrame,
    problems: LineProblems,
) -> pd.Series:
    """Set each line's ``block_id`` and, in a seated block, ``seat_id``; return which resolve."""
    ok = pd.Series(True, index=lines.index)
    salles = mappings.from_partner(MappingKind.SALLE, lines["code_salle"])
    wrong_salle = salles.isna() | (salles != configuration)
    _add(
        problems,
        "mapping",
        lines[wrong_salle],
        "code_salle",
        f"FNAC salle does not map to configuration {configuration}",
        file_name,
    )
    ok &= ~wrong_salle

    blocks = pd.DataFrame(
        session.execute(
            select(Block.id, Zone.code, Block.code, Block.free_placement, Block.category_id)
            .join(Zone, Block.zone_id == Zone.id)
            .join(SeatingConfiguration, Zone.configuration_id == SeatingConfiguration.id)
            .where(SeatingConfiguration.code == configuration)
        ).all(),
        columns=["block_id", "zone", "block", "free_placement", "block_category_id"],
    )
    target = mappings.bloc_from_partner(lines["code_bloc"], configuration)
    single_block = blocks.groupby("zone")["block"].agg(lambda b: b.iloc[0] if len(b) == 1 else None)
    target["block"] = target["block"].fillna(target["zone"].map(single_block))
    located = (
        target.reset_index(names="line")
        .merge(blocks, on=["zone", "block"], how="left")
        .set_index("line")
    )
    lines["block_id"] = located["block_id"]
    free_placement = located["free_placement"].fillna(False).astype(bool)
    no_block = lines["block_id"].isna()
    problems.mapping.extend(
        Problem(
            "FNAC bloc maps to no block of configuration " + configuration,
            file=file_name,
            line=int(line),
            column="code_bloc",
            value=None if pd.isna(value) else str(value),
        )
        for line, value in lines.loc[no_block & ok, "code_bloc"].items()
    )
    ok &= ~no_block

    seated = ok & ~free_placement
    missing_seat = seated & (lines["rang"].isna() | lines["place"].isna())
    _add(
        problems,
        "external",
        lines[missing_seat],
        "place",
        "a seated block needs a rang and a place",
        file_name,
    )
    ok &= ~missing_seat
    free_with_seat = ok & free_placement & lines["rang"].notna()
    _add(
        problems,
        "external",
        lines[free_with_seat],
        "rang",
        "a free-placement bloc has no rang or place",
        file_name,
    )
    ok &= ~free_with_seat

    wanted = lines.loc[ok & ~free_placement, ["block_id", "rang", "place"]]
    seats = _seats(session, wanted["block_id"].unique().tolist())
    located_seats = (
        wanted.reset_index(names="line")
        .merge(seats, on=["block_id", "rang", "place"], how="left")
        .set_index("line")
    )
    lines["seat_id"] = located_seats["seat_id"]
    unknown_seat = ok & ~free_placement & lines["seat_id"].isna()
    _add(
        problems,
        "external",
        lines[unknown_seat],
        "place",
        "no such seat in the box office (seat lists differ)",
        file_name,
    )
    ok &= ~unknown_seat

    # The place's own category must be the one FNAC sold (type de tarif).
    seat_categories = located_seats["category_id"]
    place_category = seat_categories.reindex(lines.index).fillna(located["block_category_id"])
    mismatch = ok & lines["category_id"].notna() & (place_category != lines["category_id"])
    _add(
        problems,
        "external",
        lines[mismatch],
        "type_tarif",
        "the type de tarif is not the category of this place in the box office",
        file_name,
    )
    ok &= ~mismatch
    return ok


def _seats(session: Session, block_ids: list[int]) -> pd.DataFrame:
    return seats_of_blocks(session, block_ids).rename(columns={"row": "rang", "number": "place"})


# --------------------------------------------------------------------------- cancellations


def cancellation_batch(frame: pd.DataFrame) -> LineBatch:
    """An ANNUL file's cancellation lines: FNAC's columns renamed, nothing to resolve."""
    if frame.empty:
        return LineBatch(CANCELLATION_LINES.empty(), records=0)
    lines = pd.DataFrame(
        {canonical: frame[COLUMNS[canonical]].array for canonical in CANCELLATION_LINES.names},
        index=frame.index,
        copy=False,
    )
    return LineBatch(lines, source=frame, records=len(frame))
