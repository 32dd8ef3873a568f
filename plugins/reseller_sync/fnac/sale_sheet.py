"""Onboarding step 2: the sale sheet (FICHE, spec 8.1) and its readable HTML version.

One FICHE line per séance × logical category × tariff offered at FNAC:

- the categories of a séance are those of FNAC's quota on it (the seats'
  categories and the free-placement blocks'); a pass's are those it is
  priced in, and each carries the pass's whole quota;
- ``contingent`` is the places of FNAC's quota for that séance and category;
- ``prix_ttc`` is the box-office price as recorded (whether it includes FNAC's
  commission is the settings' ``prices.includes_commission``, shown on the
  readable sheet);
- sales open at ``sales_open`` (default: now) and close when the performance
  starts, or for a pass at the end of its last valid day (23:59:59), in the
  venue's time zone;
- ``code_manifestation`` is filled when the product is already mapped (a
  resent sheet).

The product is checked first (:func:`ensure_product_ready`): a sheet is never
built for a product that is not ready.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from reseller_sync.boxoffice.models import OnboardingState, Performance
from reseller_sync.domain.errors import MappingError
from reseller_sync.domain.products import ProductKind, is_pass
from reseller_sync.exchange import journal
from reseller_sync.exchange.transport import SftpTransport
from reseller_sync.fnac.adapter import NATURE as FNAC_NATURE
from reseller_sync.fnac.adapter import RESELLER_TYPE
from reseller_sync.fnac.mappings import load_repository
from reseller_sync.fnac.names import FileType
from reseller_sync.fnac.onboarding_state import set_onboarding_state
from reseller_sync.fnac.outbound import (
    SendResult,
    SessionSource,
    send_file,
    session_factory,
)
from reseller_sync.fnac.product import (
    FnacProduct,
    last_valid_day,
    load_fnac_product,
    load_product,
)
from reseller_sync.fnac.product_check import ensure_product_ready
from reseller_sync.fnac.settings import FnacSettings
from reseller_sync.mappings.repository import ProductMappings
from reseller_sync.templates import render

FICHE_COLUMNS = [
    "code_produit",
    "libelle_produit",
    "nature",
    "code_manifestation",
    "lieu",
    "ville",
    "pays",
    "date_seance",
    "fin_validite",
    "code_config",
    "categorie",
    "libelle_categorie",
    "tarif",
    "libelle_tarif",
    "prix_ttc",
    "devise",
    "contingent",
    "debut_vente",
    "fin_vente",
]
TEMPLATE = "sale_sheet.html.j2"
CURRENCY_SYMBOLS = {"EUR": "€", "CHF": "CHF"}
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
NATURE_LABELS = {
    "EVENEMENT": "Événement",
    "COMPETITION": "Compétition",
    "PASS_VISITE": "Pass visite",
    "PASS_NON_DATE": "Pass non daté",
}


@dataclass(frozen=True)
class SaleSheet:
    """A product's sale sheet: the FICHE records and what the readable sheet shows."""

    product_code: str
    product_name: str
    kind: ProductKind
    venue: str
    city: str
    country: str
    configuration: str | None
    manifestation: str | None
    sales_open: dt.datetime
    includes_commission: bool
    records: pd.DataFrame
    """The FICHE data lines, typed as the codec's writer takes them (:data:`FICHE_COLUMNS`)."""

    @property
    def nature(self) -> str:
        return FNAC_NATURE[self.kind]

    @property
    def line_count(self) -> int:
        return len(self.records)


def build_sale_sheet(
    session: Session,
    settings: FnacSettings,
    product_code: str,
    *,
    sales_open: dt.datetime | None = None,
    mappings: ProductMappings | None = None,
) -> SaleSheet:
    """The sale sheet of a product ready for FNAC; raise MappingError when it is not ready.

    ``sales_open`` (aware, default now) is when sales open at FNAC; the day it
    falls on in the venue's time zone is the ``today`` of the product check.
    ``mappings`` default to the product's in the mapping files.
    """
    sales_open = (sales_open or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    product = load_product(session, product_code)
    if product is None:
        raise MappingError(f"product {product_code} does not exist in the box office")
    fnac = load_fnac_product(session, settings, product)
    ensure_product_ready(
        session, settings, product_code, sales_open.astimezone(fnac.timezone).date()
    )
    mappings = mappings or load_repository().for_product(product_code)
    venue = fnac.product.venue
    configuration = fnac.product.configuration
    return SaleSheet(
        product_code=fnac.code,
        product_name=fnac.product.name,
        kind=fnac.kind,
        venue=venue.name,
        city=venue.city,
        country=venue.country,
        configuration=configuration.code if configuration is not None and fnac.seated else None,
        manifestation=mappings.partner_product,
        sales_open=sales_open.astimezone(fnac.timezone),
        includes_commission=settings.prices.includes_commission,
        records=_fiche_records(fnac, settings, mappings.partner_product, sales_open),
    )


def send_sale_sheet(
    sessions: SessionSource,
    transport: SftpTransport,
    settings: FnacSettings,
    product_code: str,
    *,
    sales_open: dt.datetime | None = None,
    force: bool = False,
    resend_since: dt.datetime | None = None,
    dry_run: bool = False,
) -> SendResult:
    """Build and send the product's FICHE once (``force``, ``resend_since``: see
    :func:`send_file`); the product's onboarding becomes ``sale_sheet_sent``
    (when it was not further already). The FICHE is built only when a file is
    written: while one stands, a call only looks it up."""
    factory = session_factory(sessions)

    def records() -> pd.DataFrame:
        with factory() as session:
            return build_sale_sheet(session, settings, product_code, sales_open=sales_open).records

    result = send_file(
        factory,
        transport,
        settings,
        FileType.FICHE,
        records,
        product_code,
        force=force,
        resend_since=resend_since,
        dry_run=dry_run,
    )
    if not dry_run:
        with factory.begin() as session:
            set_onboarding_state(session, product_code, OnboardingState.SALE_SHEET_SENT)
    return result


def email_sale_sheet(
    sessions: SessionSource,
    settings: FnacSettings,
    product_code: str,
    sent_name: str,
    send: Callable[[list[str], str, str], None],
) -> bool:
    """E-mail the readable sale sheet of the sent FICHE ``sent_name`` to the FNAC contact,
    once: False when it went already (a retried task), as the journal records.

    ``send(recipients, subject, html)`` sends the e-mail; it is recorded once sent,
    so a crash in between sends it again rather than never.
    """
    factory = session_factory(sessions)
    with factory() as session:
        if journal.contact_emailed_at(session, RESELLER_TYPE.code, sent_name) is not None:
            return False
        html = render_sale_sheet(build_sale_sheet(session, settings, product_code))
    contact = settings.notifications.fnac_contact_email
    send([contact], f"Fiche de mise en vente {product_code} ({sent_name})", html)
    with factory.begin() as session:
        journal.mark_contact_emailed(
            session, RESELLER_TYPE.code, sent_name, dt.datetime.now(dt.UTC)
        )
    return True


def render_sale_sheet(sheet: SaleSheet) -> str:
    """The readable sale sheet (HTML, French) for the organiser's FNAC contact."""
    return render(TEMPLATE, sheet=_sheet_view(sheet))


def format_amount(cents: int, currency: str) -> str:
    """An amount as a French reader writes it: ``1 234,50 €``, ``24,00 CHF``."""
    units, rest = divmod(int(cents), 100)
    grouped = f"{units:,}".replace(",", "\u202f")
    return f"{grouped},{rest:02d}\u00a0{CURRENCY_SYMBOLS.get(currency, currency)}"


def format_day(day: dt.date) -> str:
    """``vendredi 5 mars 2027``."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def format_moment(moment: dt.datetime) -> str:
    """``vendredi 5 mars 2027 à 20 h 30``."""
    return f"{format_day(moment.date())} à {moment.hour} h {moment.minute:02d}"


def _sheet_view(sheet: SaleSheet) -> dict[str, object]:
    """What the template shows, every value already formatted for a French reader."""
    performances = []
    keys = ["date_seance", "fin_validite", "fin_vente"]
    for (seance, last_day, close), lines in sheet.records.groupby(keys, sort=False, dropna=False):
        if not pd.isna(seance):
            when = format_moment(pd.Timestamp(seance).to_pydatetime())
        elif not pd.isna(last_day):
            when = f"valable jusqu'au {format_day(pd.Timestamp(last_day).date())}"
        else:
            when = "non daté"
        categories = [
            {
                "code": category,
                "label": rows["libelle_categorie"].iloc[0],
                "contingent": int(rows["contingent"].iloc[0]),
                "prices": [
                    {
                        "tariff": row.tarif,
                        "label": row.libelle_tarif,
                        "amount": format_amount(row.prix_ttc, row.devise),
                    }
                    for row in rows.itertuples(index=False)
                ],
            }
            for category, rows in lines.groupby("categorie", sort=False)
        ]
        performances.append(
            {
                "when": when,
                "sales_close": format_moment(pd.Timestamp(close).to_pydatetime()),
                "categories": categories,
                "places": sum(category["contingent"] for category in categories),
            }
        )
    return {
        "code": sheet.product_code,
        "name": sheet.product_name,
        "nature": NATURE_LABELS[sheet.nature],
        "manifestation": sheet.manifestation,
        "venue": sheet.venue,
        "city": sheet.city,
        "country": sheet.country,
        "configuration": sheet.configuration,
        "sales_open": format_moment(sheet.sales_open),
        "includes_commission": sheet.includes_commission,
        "performances": performances,
        "line_count": sheet.line_count,
    }


def _fiche_records(
    fnac: FnacProduct,
    settings: FnacSettings,
    manifestation: str | None,
    sales_open: dt.datetime,
) -> pd.DataFrame:
    offered = list(settings.tariffs_offered_for(fnac.code))
    places = fnac.places_by_category()
    prices = fnac.prices[fnac.prices["tariff"].isin(offered)]
    lines = places.merge(prices, on=["performance_id", "category"], how="inner")
    order = {performance.id: rank for rank, performance in enumerate(fnac.performances)}
    lines = lines.assign(
        _performance=lines["performance_id"].map(order),
        _tariff=lines["tariff"].map({tariff: rank for rank, tariff in enumerate(offered)}),
    ).sort_values(["_performance", "category", "_tariff"], ignore_index=True)
    performances = {performance.id: performance for performance in fnac.performances}
    seances = {pid: p.starts_at for pid, p in performances.items() if p.starts_at is not None}
    last_days = {pid: last_valid_day(p) for pid, p in performances.items()}
    closes = {pid: _sales_close(fnac, performances[pid]) for pid in performances}
    pids = lines["performance_id"]
    return pd.DataFrame(
        {
            "code_produit": fnac.code,
            "libelle_produit": fnac.product.name,
            "nature": FNAC_NATURE[fnac.kind],
            "code_manifestation": manifestation,
            "lieu": fnac.product.venue.name,
            "ville": fnac.product.venue.city,
            "pays": fnac.product.venue.country,
            "date_seance": pids.map(seances).astype("datetime64[us]"),
            "fin_validite": pids.map(last_days) if is_pass(fnac.kind) else None,
            "code_config": fnac.product.configuration.code
            if fnac.seated and fnac.product.configuration is not None
            else None,
            "categorie": lines["category"],
            "libelle_categorie": lines["category_name"],
            "tarif": lines["tariff"],
            "libelle_tarif": lines["tariff_name"],
            "prix_ttc": lines["amount"],
            "devise": lines["currency"],
            "contingent": lines["places"],
            "debut_vente": sales_open.astimezone(fnac.timezone),
            "fin_vente": pids.map(closes),
        },
        columns=FICHE_COLUMNS,
    )


def _sales_close(fnac: FnacProduct, performance: Performance) -> dt.datetime | None:
    """When FNAC stops selling: the performance's start, else the end of the last valid day."""
    if performance.starts_at is not None:
        return fnac.local(performance.starts_at)
    last_day = last_valid_day(performance)
    if last_day is None:
        return None
    return fnac.local(dt.datetime.combine(last_day, dt.time(23, 59, 59)))
