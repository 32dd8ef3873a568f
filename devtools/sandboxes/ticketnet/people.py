"""Ticketnet's outlets and customers, made up, recognisable, and reproducible from a seed.

Buyer contact details (the ``buyer_*`` columns, section 11) are fake and easy
to find anywhere they should not be: every e-mail ends with
:data:`BUYER_EMAIL_DOMAIN`, every phone starts with :data:`BUYER_PHONE_PREFIX`,
every postcode is one of :data:`BUYER_POSTCODES`. The values actually written
are kept in the partner's state (``TicketnetPartner.buyer_contacts``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from devtools.sandboxes.names import FIRST_NAMES, LAST_NAMES, ascii_name

PARIS = ZoneInfo("Europe/Paris")

BUYER_EMAIL_DOMAIN = "acheteur-billetterie.example"
BUYER_PHONE_PREFIX = "+3361999"
BUYER_POSTCODES = ("75017", "69007", "35000", "13008", "33000", "59800", "44000")


@dataclass(frozen=True)
class Outlet:
    """Where a transaction takes place (section 2): ``WEB``, ``APP``, ``PHONE`` or a shop."""

    id: str
    name: str

    @property
    def remote(self) -> bool:
        """The web site, the app and the phone know the buyer's contact details."""
        return not self.id.startswith("S")


WEB = Outlet("WEB", "ticketmaster.fr")
OUTLETS: tuple[tuple[Outlet, int], ...] = (
    (WEB, 55),
    (Outlet("APP", "Application Ticketmaster"), 20),
    (Outlet("PHONE", "Ticketmaster par téléphone"), 5),
    (Outlet("S01234", "Centre commercial Rennes, accueil"), 5),
    (Outlet("S07501", "Carrefour Paris Auteuil, billetterie"), 5),
    (Outlet("S06902", 'Librairie "Le Bateau Livre", Lyon'), 5),
    (Outlet("S13001", "Leclerc Marseille Grand Littoral"), 5),
)
"""Outlets and their weights; some names hold ``,`` or ``"``, which the CSV must quote."""


@dataclass(frozen=True)
class Buyer:
    first_name: str
    last_name: str
    email: str
    phone: str
    postcode: str


def pick_outlet(rng: random.Random) -> Outlet:
    outlets, weights = zip(*OUTLETS, strict=True)
    return rng.choices(outlets, weights=weights)[0]


def make_buyer(rng: random.Random) -> Buyer:
    first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local_part = f"{ascii_name(first_name)}.{ascii_name(last_name)}{rng.randrange(1, 100)}"
    return Buyer(
        first_name,
        last_name,
        f"{local_part}@{BUYER_EMAIL_DOMAIN}",
        BUYER_PHONE_PREFIX + f"{rng.randrange(10**4):04d}",
        rng.choice(BUYER_POSTCODES),
    )


def attendee(rng: random.Random, buyer: Buyer) -> tuple[str, str]:
    """The ticket holder (first, last name): often the buyer's family, sometimes someone else."""
    last_name = buyer.last_name if rng.random() < 0.7 else rng.choice(LAST_NAMES)
    return rng.choice(FIRST_NAMES), last_name
