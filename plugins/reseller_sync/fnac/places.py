"""Onboarding step 5: the places given to FNAC's allotment (PLACES, spec 8.2).

Events and competitions only: a pass has no places, its quota travels in the
sale sheet's ``contingent``, and PLACES is never sent for it (the step is
skipped, saying why).

One line per seat of FNAC's quota (``quantite`` 1, ``rang`` and ``place``)
and one per free-placement block (``quantite`` = the places held there), on
every performance. Every code is FNAC's, through the mappings: manifestation
(the product), salle (the configuration), bloc (the block, else its zone),
type de tarif (the seat's category; a configuration-specific mapping wins),
allotement (the quota). ``date_seance`` is the venue's wall-clock time. The
mapping is done column by column on pandas Series, whatever the number of seats.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import OnboardingState
from reseller_sync.config.paths import shown_path
from reseller_sync.domain.errors import MappingError, Problem
from reseller_sync.domain.products import SEATED_KINDS, ProductKind
from reseller_sync.domain.texts import Localized
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.mappings import VOCABULARY, MappingKind, load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.onboarding_state import set_onboarding_state
from reseller_sync.fnac.outbound import (
    SendResult,
    SendStatus,
    SessionSource,
    send_file,
    session_factory,
)
from reseller_sync.fnac.product import FnacProduct, load_fnac_product, load_product
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.mappings.repository import ProductMappings, unresolved_problems

PLACES_COLUMNS = [
    "code_manifestation",
    "date_seance",
    "code_salle",
    "code_bloc",
    "rang",
    "place",
    "quantite",
    "type_tarif",
    "code_allotement",
]
PASS_SKIP_REASON = (
    "{code} is a {kind}: a pass has no places, its FNAC quota travels in the sale sheet's "
    "contingent; PLACES is never sent for a pass (spec 8.2)"
)


@dataclass(frozen=True)
class PlacesBuild:
    """The PLACES records of a product, or why there are none to send."""

    product_code: str
    records: pd.DataFrame
    """The PLACES data lines (:data:`PLACES_COLUMNS`), performance by performance."""
    skipped_reason: str | None = None

    @property
    def skipped(self) -> bool:
        return self.skipped_reason is not None

    @property
    def seats(self) -> int:
        return int(self.records["rang"].notna().sum())

    @property
    def free_places(self) -> int:
        """Places of the free-placement lines."""
        return int(self.records.loc[self.records["rang"].isna(), "quantite"].sum())


def build_places(
    session: Session,
    settings: FnacSettings,
    product_code: str,
    *,
    mappings: ProductMappings | None = None,
) -> PlacesBuild:
    """The PLACES records of an event or competition; skipped for a pass.

    Raise :class:`MappingError` listing every value without its FNAC code, each once.
    """
    product = load_product(session, product_code)
    if product is None:
        raise MappingError(f"product {product_code} does not exist in the box office")
    fnac = load_fnac_product(session, settings, product)
    if reason := _skip_reason(product_code, fnac.kind):
        return PlacesBuild(product_code, pd.DataFrame(columns=PLACES_COLUMNS), reason)
    configuration = fnac.product.configuration
    if configuration is None:
        raise MappingError(
            f"{fnac.kind} {product_code} has no seating configuration in the box office",
            action=Localized(
                fr="Renseignez la configuration de salle du produit dans la billetterie, puis "
                "relancez la tâche en échec (Clear).",
                en="Set the product's seating configuration in the box office, then clear "
                "the failed task.",
            ),
        )
    mappings = mappings or load_repository().for_product(product_code)
    lines = _lines(fnac)
    if lines.empty:
        raise MappingError(
            f"FNAC's quota on {product_code} holds no seat nor free place: nothing to give FNAC",
            action=Localized(
                fr="Mettez des places dans le contingent de {reseller} dans la billetterie, puis "
                "relancez la tâche en échec (Clear).",
                en="Put places in {reseller}'s quota in the box office, then clear the failed "
                "task.",
            ),
        )
    return PlacesBuild(product_code, _mapped(lines, fnac, configuration.code, mappings))


def send_places(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: FnacSettings,
    product_code: str,
    *,
    force: bool = False,
    dry_run: bool = False,
) -> SendResult:
    """Build and send the product's PLACES once (skipped for a pass); the product's
    onboarding becomes ``places_sent`` (when it was not further already). PLACES
    is built only when a file is written: while one stands, a call only looks
    it up (it lists every seat, so a retried task would pay for it again)."""
    factory = session_factory(sessions)
    with factory() as session:
        product = load_product(session, product_code)
        reason = _skip_reason(product_code, ProductKind(product.kind)) if product else None
    if reason:
        return SendResult(SendStatus.SKIPPED, FileType.PLACES, product_code, reason=reason)

    def records() -> pd.DataFrame:
        with factory() as session:
            return build_places(session, settings, product_code).records

    result = send_file(
        factory,
        transport,
        settings,
        FileType.PLACES,
        records,
        product_code,
        force=force,
        dry_run=dry_run,
    )
    if not dry_run:
        with factory.begin() as session:
            set_onboarding_state(session, product_code, OnboardingState.PLACES_SENT)
    return result


def _skip_reason(product_code: str, kind: ProductKind) -> str | None:
    """Why no PLACES is sent for this product (a pass), or None."""
    if kind in SEATED_KINDS:
        return None
    return PASS_SKIP_REASON.format(code=product_code, kind=kind)


def _lines(fnac: FnacProduct) -> pd.DataFrame:
    """Organiser values of every line: seats first, then free blocks, performance by performance."""
    seats = fnac.seats.assign(quantite=1).rename(columns={"row": "rang", "number": "place"})
    free = fnac.free_places.rename(columns={"places": "quantite"})
    lines = pd.concat([seats, free], ignore_index=True)
    order = {performance.id: rank for rank, performance in enumerate(fnac.performances)}
    starts = {performance.id: performance.starts_at for performance in fnac.performances}
    lines["_performance"] = lines["performance_id"].map(order)
    lines["_free"] = lines["rang"].isna()
    lines = lines.sort_values(["_performance", "_free"], kind="stable", ignore_index=True)
    lines["date_seance"] = lines["performance_id"].map(starts).astype("datetime64[us]")
    return lines.astype({"quantite": "int64"})


def _mapped(
    lines: pd.DataFrame, fnac: FnacProduct, configuration: str, mappings: ProductMappings
) -> pd.DataFrame:
    """Map every code to FNAC's; MappingError naming each unmapped value once."""
    product = pd.Series([fnac.code], dtype="str")
    manifestation = mappings.to_partner(MappingKind.MANIFESTATION, product)
    salle = mappings.to_partner(MappingKind.SALLE, pd.Series([configuration], dtype="str"))
    blocks = lines[["zone", "block"]].drop_duplicates(ignore_index=True)
    blocs = mappings.bloc_to_partner(blocks["zone"], blocks["block"], configuration)
    categories = pd.Series(lines["category"].unique(), dtype="str")
    types = mappings.to_partner(MappingKind.TYPE_TARIF, categories, configuration)
    quotas = pd.Series(lines["quota_code"].unique(), dtype="str")
    allotements = mappings.to_partner(MappingKind.ALLOTEMENT, quotas)

    named_blocks = blocks["zone"].str.cat(blocks["block"], sep="/")
    product_file, shared_file = shown_path(mappings.file), shown_path(mappings.shared_file)
    problems: list[Problem] = []
    for kind, values, resolved, file in (
        (MappingKind.MANIFESTATION, product, manifestation, product_file),
        (MappingKind.SALLE, pd.Series([configuration], dtype="str"), salle, shared_file),
        (MappingKind.BLOC, named_blocks, blocs, shared_file),
        (MappingKind.TYPE_TARIF, categories, types, shared_file),
        (MappingKind.ALLOTEMENT, quotas, allotements, shared_file),
    ):
        problems.extend(
            unresolved_problems(
                VOCABULARY,
                kind,
                _unlined(values),
                _unlined(resolved),
                product=fnac.code,
                inbound=False,
                file=file,
            )
        )
    if problems:
        count = len(problems)
        raise MappingError(
            f"PLACES of {fnac.code} cannot be written: {count} value{'s' if count > 1 else ''} "
            "without a FNAC code",
            problems=problems,
            action=Localized(
                fr="Ajoutez chaque code {reseller} cité ci-dessous aux fichiers de mapping (voir "
                "docs/onboarding.md), puis relancez la tâche en échec (Clear).",
                en="Add each {reseller} code named below to the mapping files (see "
                "docs/onboarding.md), then clear the failed task.",
            ),
        )
    bloc_of = dict(zip(named_blocks, blocs, strict=True))
    records = pd.DataFrame(
        {
            "code_manifestation": manifestation.iloc[0],
            "date_seance": lines["date_seance"],
            "code_salle": salle.iloc[0],
            "code_bloc": lines["zone"].str.cat(lines["block"], sep="/").map(bloc_of),
            "rang": lines["rang"],
            "place": lines["place"],
            "quantite": lines["quantite"],
            "type_tarif": lines["category"].map(dict(zip(categories, types, strict=True))),
            "code_allotement": lines["quota_code"].map(dict(zip(quotas, allotements, strict=True))),
        },
        columns=PLACES_COLUMNS,
    )
    return records.astype(
        {column: "str" for column in PLACES_COLUMNS if column not in ("date_seance", "quantite")}
    )


def _unlined(values: pd.Series) -> pd.Series:
    """The values without line numbers: the file is not written yet, a problem names the value."""
    return values.set_axis(pd.Index([None] * len(values), dtype=object))
