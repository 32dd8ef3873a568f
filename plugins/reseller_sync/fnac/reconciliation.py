"""The nightly seat reconciliation against FNAC's ETATPL (spec 7.5).

Every night FNAC lists every place it holds, with its status (``DISPO``,
``VENDU``, ``BLOQUE``). The box office says which places it gives FNAC (its
quota, written in FNAC's codes exactly as PLACES is) and which of them FNAC
sold (the tickets integrated from VENTES). Compared in FNAC's codes, four
kinds of difference come out:

- places FNAC holds that the box office does not give it, and the reverse;
- places FNAC sold (``VENDU``) whose sale was not integrated;
- places whose sale was integrated that FNAC reports unsold.

Seats are compared one by one; free placement is compared as quantities per
bloc and status. Sales are taken as they stood when FNAC wrote the file (a
ticket sold after it, or cancelled after it, is counted as FNAC saw it).
Places whose withdrawal (DECONT) awaits FNAC's ACK are not reported as
missing at FNAC. Passes have no places: ETATPL never lists them.

The file goes through the journal like any inbound file, in sequence order;
differences are findings, not a failure: the file is marked integrated, an
HTML report is written under the reports folder and the caller raises an
alert. Only the newest ready file is compared with the box office as it is
now; older ones (a night missed) are marked integrated as superseded.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.db import session_scope
from reseller_sync.boxoffice.models import (
    Block,
    OnboardingState,
    Order,
    Performance,
    PlaceWithdrawal,
    Product,
    ResellerProduct,
    Seat,
    Ticket,
    TicketState,
    WithdrawalState,
    Zone,
)
from reseller_sync.domain.errors import Problem
from reseller_sync.domain.products import SEATED_KINDS
from reseller_sync.exchange import journal
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.mappings import MappingKind
from reseller_sync.fnac.names import FileName, FileType
from reseller_sync.fnac.places import build_places
from reseller_sync.fnac.reader import read_file
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.mappings.repository import MappingRepository, ProductMappings
from reseller_sync.pipelines import reconciliation_report
from reseller_sync.pipelines.reconciliation_report import (
    ReconciledFile,
    ReconciliationReport,
    failure_recorded,
    report_groups,
)

log = logging.getLogger(__name__)

REPORT_FOLDER = reconciliation_report.REPORT_FOLDER
DATE_FORMAT = "%d/%m/%Y %H:%M"
SEAT_KEY = ["code_manifestation", "date_seance", "code_salle", "code_bloc", "rang", "place"]
BLOC_KEY = ["code_manifestation", "date_seance", "code_salle", "code_bloc"]
HELD_STATUSES = ("DISPO", "VENDU", "BLOQUE")
PLACES_GIVEN = (OnboardingState.PLACES_SENT, OnboardingState.TESTED, OnboardingState.LIVE)
"""Onboarding states in which FNAC holds the product's places."""


class DifferenceKind(StrEnum):
    HELD_NOT_GIVEN = "held_not_given"
    """FNAC holds places the box office does not give it."""
    GIVEN_NOT_HELD = "given_not_held"
    """The box office gives FNAC places FNAC does not hold."""
    SOLD_NOT_INTEGRATED = "sold_not_integrated"
    """FNAC sold places whose sale is not in the box office."""
    INTEGRATED_NOT_SOLD = "integrated_not_sold"
    """The box office integrated a sale FNAC reports unsold."""
    UNKNOWN_MANIFESTATION = "unknown_manifestation"
    """FNAC holds places of a manifestation no product is mapped to."""


DIFFERENCE_LABELS = {
    DifferenceKind.HELD_NOT_GIVEN: "held by FNAC, not given by the box office",
    DifferenceKind.GIVEN_NOT_HELD: "given by the box office, not held by FNAC",
    DifferenceKind.SOLD_NOT_INTEGRATED: "sold by FNAC, sale not integrated",
    DifferenceKind.INTEGRATED_NOT_SOLD: "sale integrated, FNAC reports it unsold",
    DifferenceKind.UNKNOWN_MANIFESTATION: "manifestation mapped to no product",
}


@dataclass(frozen=True)
class Difference:
    """One place (a seat, or places of a free-placement bloc) on which the two sides differ."""

    kind: DifferenceKind
    product: str | None
    manifestation: str
    date_seance: str
    bloc: str
    rang: str | None
    place: str | None
    quantity: int
    """1 for a seat; for free placement, how many places differ."""
    fnac: str
    """What FNAC says (its status, or its quantities)."""
    box_office: str
    """What the box office says."""

    @property
    def label(self) -> str:
        return DIFFERENCE_LABELS[self.kind]

    @property
    def where(self) -> str:
        spot = f"rang {self.rang}, place {self.place}" if self.rang else f"{self.quantity} place(s)"
        return f"{self.manifestation} séance {self.date_seance}, bloc {self.bloc}, {spot}"

    def to_problem(self, file: str | None = None) -> Problem:
        return Problem(
            f"{self.label}: {self.where} (FNAC: {self.fnac}; box office: {self.box_office})",
            file=file,
            value=self.product,
        )


@dataclass(frozen=True)
class Reconciliation(ReconciledFile):
    """The outcome of one ETATPL file."""

    file_id: int
    file_name: str
    lines: int
    products: tuple[str, ...]
    differences: tuple[Difference, ...] = ()
    report: str | None = None
    """The HTML report, relative to :func:`reports_dir`; None when superseded."""
    superseded_by: str | None = None
    """A newer ETATPL was waiting: this one was not compared."""

    def summary(self) -> dict[str, object]:
        return {
            "file": self.file_name,
            "lines": self.lines,
            "products": list(self.products),
            "differences": self.counts,
            "report": self.report,
            "superseded_by": self.superseded_by,
        }


# --------------------------------------------------------------------------- the journal


def reconcile_pending(
    engine: Engine | None, settings: FnacSettings, repository: MappingRepository
) -> list[Reconciliation]:
    """Reconcile the ready ETATPL files in sequence order, one transaction each."""
    with session_scope(engine) as session:
        queue = journal.queue(session, RESELLER_TYPE.code, FileType.ETATPL.value)
        names = journal.names_by_id(session, queue.ready)
    if queue.missing:
        log.warning(
            "ETATPL sequence(s) %s missing; %d file(s) wait behind the gap",
            ", ".join(f"{seq:06d}" for seq in queue.missing),
            len(queue.waiting),
        )
    newest = names[queue.ready[-1]] if queue.ready else None
    return [
        reconcile_file(
            engine,
            settings,
            repository,
            file_id,
            superseded_by=newest if file_id != queue.ready[-1] else None,
        )
        for file_id in queue.ready
    ]


def reconcile_file(
    engine: Engine | None,
    settings: FnacSettings,
    repository: MappingRepository,
    file_id: int,
    *,
    superseded_by: str | None = None,
) -> Reconciliation:
    """Reconcile one landed ETATPL file and mark it integrated, or record why it failed."""
    with (
        failure_recorded(engine, file_id, "file", codes=False),
        session_scope(engine) as session,
    ):
        entry = journal.journaled_file(session, file_id)
        parsed = read_file(entry.name, journal.file_content(session, file_id))
        if superseded_by is not None:
            log.info("%s is superseded by %s: not compared", entry.name, superseded_by)
            result = Reconciliation(
                file_id, entry.name, len(parsed.frame), (), superseded_by=superseded_by
            )
        else:
            snapshot = FileName.parse(entry.name).stamp
            products, differences = reconcile(session, settings, repository, parsed.frame, snapshot)
            report = write_report(entry.name, products, differences, snapshot)
            result = Reconciliation(
                file_id, entry.name, len(parsed.frame), products, differences, report
            )
        journal.mark_integrated(session, file_id, len(parsed.frame))
    log.info(
        "Reconciled %s: %d difference(s) %s",
        result.file_name,
        len(result.differences),
        result.counts,
    )
    return result


# --------------------------------------------------------------------------- comparison


def reconcile(
    session: Session,
    settings: FnacSettings,
    repository: MappingRepository,
    etatpl: pd.DataFrame,
    snapshot: dt.datetime,
) -> tuple[tuple[str, ...], tuple[Difference, ...]]:
    """The products compared and every difference between ETATPL's lines and the box office.

    ``snapshot`` (aware) is when FNAC wrote the file: sales are counted as they stood then.
    Raises MappingError when a compared product's places cannot be written in FNAC's codes.
    """
    fnac = etatpl.assign(date_seance=_dates(etatpl["date_seance"]))
    by_manifestation = repository.partner_products()
    fnac["product"] = fnac["code_manifestation"].map(by_manifestation)
    differences = _unknown_manifestations(fnac[fnac["product"].isna()])
    products = sorted(set(fnac["product"].dropna()) | set(_products_with_places(session, settings)))
    compared: list[str] = []
    for code in products:
        product = session.scalar(select(Product).where(Product.code == code))
        if product is None or product.kind not in SEATED_KINDS or product.configuration is None:
            continue
        compared.append(code)
        mappings = repository.for_product(code)
        given = build_places(session, settings, code, mappings=mappings).records
        given = given.assign(date_seance=_dates(given["date_seance"]))
        sold = _located(session, product, mappings, _sold_at(product.id, snapshot))
        pending = _located(session, product, mappings, _pending_withdrawals(product.id))
        held = fnac[fnac["product"] == code]
        differences += _seat_differences(code, held, given, sold, pending)
        differences += _free_differences(code, held, given, sold, pending)
    return tuple(compared), tuple(differences)


def _products_with_places(session: Session, settings: FnacSettings) -> list[str]:
    """Products of the settings whose places FNAC holds (PLACES sent)."""
    return list(
        session.scalars(
            select(Product.code)
            .join(ResellerProduct, ResellerProduct.product_id == Product.id)
            .where(
                ResellerProduct.reseller_code == RESELLER_TYPE.code,
                ResellerProduct.state.in_(PLACES_GIVEN),
                Product.code.in_(settings.product_codes),
            )
        )
    )


def _sold_at(product_id: int, snapshot: dt.datetime):
    """FNAC's tickets of the product that stood sold at ``snapshot``: one row per place."""
    return (
        select(
            Ticket.performance_id,
            Zone.code,
            Block.code,
            Seat.row,
            Seat.number,
            func.count(),
        )
        .join(Order, Order.id == Ticket.order_id)
        .join(Performance, Performance.id == Ticket.performance_id)
        .outerjoin(Seat, Seat.id == Ticket.seat_id)
        .join(Block, Block.id == func.coalesce(Seat.block_id, Ticket.block_id))
        .join(Zone, Zone.id == Block.zone_id)
        .where(
            Performance.product_id == product_id,
            Ticket.reseller_code == RESELLER_TYPE.code,
            Ticket.is_test.is_(False),
            Order.sold_at <= snapshot,
            or_(
                Ticket.state == TicketState.VALID,
                and_(Ticket.cancelled_at.is_not(None), Ticket.cancelled_at > snapshot),
            ),
        )
        .group_by(Ticket.performance_id, Zone.code, Block.code, Seat.row, Seat.number)
    )


def _pending_withdrawals(product_id: int):
    """Places in a DECONT FNAC has not answered yet: FNAC may have withdrawn them already."""
    return (
        select(
            PlaceWithdrawal.performance_id,
            Zone.code,
            Block.code,
            Seat.row,
            Seat.number,
            func.sum(PlaceWithdrawal.places),
        )
        .join(Performance, Performance.id == PlaceWithdrawal.performance_id)
        .outerjoin(Seat, Seat.id == PlaceWithdrawal.seat_id)
        .join(Block, Block.id == func.coalesce(Seat.block_id, PlaceWithdrawal.block_id))
        .join(Zone, Zone.id == Block.zone_id)
        .where(
            Performance.product_id == product_id,
            PlaceWithdrawal.state == WithdrawalState.SENT,
        )
        .group_by(PlaceWithdrawal.performance_id, Zone.code, Block.code, Seat.row, Seat.number)
    )


def _located(
    session: Session,
    product: Product,
    mappings: ProductMappings,
    statement,
) -> pd.DataFrame:
    """Rows (performance, zone, block, row, number, quantity) in FNAC's codes (:data:`SEAT_KEY`)."""
    rows = pd.DataFrame(
        [tuple(row) for row in session.execute(statement)],
        columns=["performance_id", "zone", "block", "rang", "place", "quantite"],
    )
    if rows.empty:
        return pd.DataFrame(columns=[*SEAT_KEY, "quantite"])
    assert product.configuration is not None
    starts = {p.id: p.starts_at for p in product.performances}
    located = pd.DataFrame(
        {
            "code_manifestation": mappings.partner_product,
            "date_seance": _dates(pd.to_datetime(rows["performance_id"].map(starts))),
            "code_salle": mappings.outbound_table(MappingKind.SALLE).get(
                product.configuration.code
            ),
            "code_bloc": mappings.bloc_to_partner(
                rows["zone"].astype("str"), rows["block"].astype("str"), product.configuration.code
            ),
            "rang": rows["rang"].astype("object"),
            "place": rows["place"].astype("object"),
            "quantite": rows["quantite"].astype("int64"),
        }
    )
    return located


def _seat_differences(
    product: str,
    held: pd.DataFrame,
    given: pd.DataFrame,
    sold: pd.DataFrame,
    pending: pd.DataFrame,
) -> list[Difference]:
    fnac = held[held["rang"].notna()].drop_duplicates(SEAT_KEY, keep="last")
    ours = given[given["rang"].notna()]
    merged = _keyed(fnac[[*SEAT_KEY, "statut"]]).merge(
        _keyed(ours[SEAT_KEY]).assign(given=True), on=SEAT_KEY, how="outer"
    )
    merged = merged.merge(
        _keyed(sold[sold["rang"].notna()][SEAT_KEY]).assign(sold=True), on=SEAT_KEY, how="left"
    )
    merged = merged.merge(
        _keyed(pending[pending["rang"].notna()][SEAT_KEY]).assign(pending=True),
        on=SEAT_KEY,
        how="left",
    )
    in_fnac = merged["statut"].notna()
    is_given = merged["given"].eq(True)
    is_sold = merged["sold"].eq(True)
    is_pending = merged["pending"].eq(True)
    differences: list[Difference] = []

    def add(mask: pd.Series, kind: DifferenceKind, box_office: str) -> None:
        for row in merged[mask].itertuples(index=False):
            differences.append(
                Difference(
                    kind,
                    product,
                    row.code_manifestation,
                    row.date_seance,
                    row.code_bloc,
                    row.rang,
                    row.place,
                    1,
                    row.statut if isinstance(row.statut, str) else "absent",
                    box_office,
                )
            )

    add(in_fnac & ~is_given, DifferenceKind.HELD_NOT_GIVEN, "not in FNAC's quota")
    add(~in_fnac & is_given & ~is_pending, DifferenceKind.GIVEN_NOT_HELD, "in FNAC's quota")
    add(merged["statut"].eq("VENDU") & ~is_sold, DifferenceKind.SOLD_NOT_INTEGRATED, "unsold")
    add(
        merged["statut"].isin(["DISPO", "BLOQUE"]) & is_sold,
        DifferenceKind.INTEGRATED_NOT_SOLD,
        "sold by FNAC",
    )
    return differences


def _free_differences(
    product: str,
    held: pd.DataFrame,
    given: pd.DataFrame,
    sold: pd.DataFrame,
    pending: pd.DataFrame,
) -> list[Difference]:
    fnac = held[held["rang"].isna()]
    by_status = (
        fnac.pivot_table(
            index=BLOC_KEY, columns="statut", values="quantite", aggfunc="sum", fill_value=0
        )
        .reindex(columns=list(HELD_STATUSES), fill_value=0)
        .astype("int64")
    )
    ours = given[given["rang"].isna()].groupby(BLOC_KEY)["quantite"].sum().rename("given")
    ours_sold = sold[sold["rang"].isna()].groupby(BLOC_KEY)["quantite"].sum().rename("sold")
    waiting = pending[pending["rang"].isna()].groupby(BLOC_KEY)["quantite"].sum().rename("pending")
    merged = pd.concat([by_status, ours, ours_sold, waiting], axis=1).fillna(0).astype("int64")
    differences: list[Difference] = []
    for key, row in merged.iterrows():
        manifestation, date_seance, _salle, bloc = key
        held_total = int(row["DISPO"] + row["VENDU"] + row["BLOQUE"])
        given_now = int(row["given"] - row["pending"])
        found: list[tuple[DifferenceKind, int]] = []
        if held_total > row["given"]:
            found.append((DifferenceKind.HELD_NOT_GIVEN, held_total - int(row["given"])))
        elif held_total < given_now:
            found.append((DifferenceKind.GIVEN_NOT_HELD, given_now - held_total))
        if row["VENDU"] > row["sold"]:
            found.append((DifferenceKind.SOLD_NOT_INTEGRATED, int(row["VENDU"] - row["sold"])))
        elif row["VENDU"] < row["sold"]:
            found.append((DifferenceKind.INTEGRATED_NOT_SOLD, int(row["sold"] - row["VENDU"])))
        differences.extend(
            Difference(
                kind,
                product,
                str(manifestation),
                str(date_seance),
                str(bloc),
                None,
                None,
                quantity,
                f"DISPO {row['DISPO']}, VENDU {row['VENDU']}, BLOQUE {row['BLOQUE']}",
                f"{row['given']} given, {row['sold']} sold",
            )
            for kind, quantity in found
        )
    return differences


def _unknown_manifestations(lines: pd.DataFrame) -> list[Difference]:
    totals = lines.groupby(["code_manifestation", "date_seance", "code_bloc"])["quantite"].sum()
    return [
        Difference(
            DifferenceKind.UNKNOWN_MANIFESTATION,
            None,
            str(manifestation),
            str(date_seance),
            str(bloc),
            None,
            None,
            int(quantity),
            f"{int(quantity)} place(s) held",
            "no product",
        )
        for (manifestation, date_seance, bloc), quantity in totals.items()
    ]


def _dates(values: pd.Series) -> pd.Series:
    """Séance times as FNAC writes them, the key both sides are compared on."""
    return pd.to_datetime(values).dt.strftime(DATE_FORMAT)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """Key columns as text: codes on both sides compare as FNAC writes them."""
    return frame.astype({column: "object" for column in SEAT_KEY if column in frame})


# --------------------------------------------------------------------------- the report


def seat_report(
    file_name: str,
    products: Iterable[str],
    differences: Sequence[Difference],
    snapshot: dt.datetime,
) -> ReconciliationReport:
    """The report of one ETATPL file, in FNAC's and the box office's words."""
    compared = ", ".join(products) or "none"
    return ReconciliationReport(
        title="FNAC seat reconciliation",
        subject=file_name,
        intro=f"FNAC's allotment state {file_name}, written {snapshot.isoformat()}, against "
        f"the box office. Products compared: {compared}.",
        columns=[
            "Product",
            "Manifestation",
            "Séance",
            "Bloc",
            "Rang",
            "Place",
            "Places",
            "FNAC",
            "Box office",
        ],
        groups=report_groups(DIFFERENCE_LABELS, differences, _report_row),
        agree="The seat lists agree: no difference.",
        advice="Check each with FNAC before changing anything: a sale not integrated usually "
        "means a VENTES file is stuck in the journal.",
    )


def _report_row(d: Difference) -> tuple[object, ...]:
    return (
        d.product,
        d.manifestation,
        d.date_seance,
        d.bloc,
        d.rang or "",
        d.place or "",
        d.quantity,
        d.fnac,
        d.box_office,
    )


def render_report(
    file_name: str,
    products: Iterable[str],
    differences: Sequence[Difference],
    snapshot: dt.datetime,
) -> str:
    """The HTML report of one reconciliation (every value escaped)."""
    return reconciliation_report.render_report(
        seat_report(file_name, products, differences, snapshot)
    )


def write_report(
    file_name: str,
    products: Iterable[str],
    differences: Sequence[Difference],
    snapshot: dt.datetime,
) -> str:
    """Write the report under the reports folder; return its path relative to that folder."""
    return reconciliation_report.write_report(
        seat_report(file_name, products, differences, snapshot),
        Path(file_name).stem,
        REPORT_FOLDER,
    )
