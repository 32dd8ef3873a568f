"""FNAC's shops and customers, made up, recognisable, and reproducible from a seed.

Buyer contact details are fake and easy to find anywhere they should not be:
every e-mail ends with :data:`BUYER_EMAIL_DOMAIN`, every phone starts with
one of :data:`BUYER_PHONE_PREFIXES`, every address is one of
:data:`BUYER_ADDRESSES` (each holds ``Acheteur``). A privacy test searches the
whole system (database, logs, e-mails, reports) for them; the values actually
written are also kept in the partner's state (``FnacPartner.buyer_contacts``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from devtools.sandboxes.names import ascii_name

BUYER_EMAIL_DOMAIN = "acheteur.example"
FRENCH_PHONE_PREFIX = "+3361234"
SWISS_PHONE_PREFIX = "+4179"
BUYER_PHONE_PREFIXES = (FRENCH_PHONE_PREFIX, SWISS_PHONE_PREFIX)
FRENCH_ADDRESSES = (
    "12 rue des Acheteurs; bât. B, 75017 Paris",
    "3 allée de l'Acheteur, 69007 Lyon",
    '8 quai de l\'Acheteur "Les Tilleuls", 44000 Nantes',
    "41 boulevard des Acheteurs; 3e étage, 13008 Marseille",
)
SWISS_ADDRESSES = (
    "27 chemin des Acheteurs, 1207 Genève",
    "5 place de l'Acheteur, 1003 Lausanne",
)
BUYER_ADDRESSES: tuple[str, ...] = FRENCH_ADDRESSES + SWISS_ADDRESSES
"""Fake postal addresses; some hold ``;`` or ``"``, which the file must quote."""

PARIS = ZoneInfo("Europe/Paris")
ZURICH = ZoneInfo("Europe/Zurich")


@dataclass(frozen=True)
class Shop:
    """A FNAC point de vente."""

    code: str
    label: str

    @property
    def country(self) -> str:
        return self.code[:2]

    @property
    def timezone(self) -> ZoneInfo:
        return ZURICH if self.country == "CH" else PARIS


WEB_SHOP = Shop("FR9999", "fnac.com")
SHOPS: tuple[Shop, ...] = (
    WEB_SHOP,
    Shop("FR0751", "FNAC Paris Ternes"),
    Shop("FR0752", "FNAC Paris Montparnasse"),
    Shop("FR0753", "FNAC Paris Saint-Lazare"),
    Shop("FR0691", "FNAC Lyon Bellecour"),
    Shop("FR0441", "FNAC Nantes"),
    Shop("FR0131", "FNAC Marseille La Valentine"),
    Shop("CH1201", "FNAC Genève Rive"),
    Shop("CH1202", "FNAC Genève Balexert"),
    Shop("CH1003", "FNAC Lausanne"),
)

LAST_NAMES = (
    "Dupré",
    "Lefèvre",
    "Müller",
    "Núñez",
    "Gagné",
    "Béranger",
    "Çelik",
    "Dvořák",
    "Schäfer",
    "Ødegaard",
    "Martin",
    "Rossi",
    "Le Bihan",
    "Aït-Ali",
)
"""Some hold letters CP1252 lacks (``ř``): the file then carries their unaccented form."""
FIRST_NAMES = (
    "Hélène",
    "Zoé",
    "Jürg",
    "Françoise",
    "Bénédicte",
    "Íñigo",
    "Noël",
    "Maëlle",
    "Jérôme",
    "Anaïs",
    "Björn",
    "Chloé",
    "Ñuria",
    "Lucas",
)


@dataclass(frozen=True)
class Buyer:
    last_name: str
    first_name: str
    email: str
    phone: str
    address: str


def pick_shop(rng: random.Random, country: str) -> Shop:
    """Mostly fnac.com or a shop of the venue's country, sometimes one across the border."""
    local = [shop for shop in SHOPS if shop.country == country and shop is not WEB_SHOP]
    foreign = [shop for shop in SHOPS if shop.country != country and shop is not WEB_SHOP]
    draw = rng.random()
    if draw < 0.4:
        return WEB_SHOP
    if draw < 0.9 and local:
        return rng.choice(local)
    return rng.choice(foreign or local)


def make_buyer(rng: random.Random, shop: Shop) -> Buyer:
    last_name, first_name = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES)
    local_part = f"{ascii_name(first_name)}.{ascii_name(last_name)}{rng.randrange(1, 100)}"
    if shop.country == "CH":
        phone = SWISS_PHONE_PREFIX + f"{rng.randrange(10**7):07d}"
    else:
        phone = FRENCH_PHONE_PREFIX + f"{rng.randrange(10**4):04d}"
    return Buyer(
        last_name,
        first_name,
        f"{local_part}@{BUYER_EMAIL_DOMAIN}",
        phone,
        rng.choice(SWISS_ADDRESSES if shop.country == "CH" else FRENCH_ADDRESSES),
    )


def beneficiary(rng: random.Random, buyer: Buyer) -> tuple[str, str]:
    """The ticket holder: often the buyer's family, sometimes someone else."""
    last_name = buyer.last_name if rng.random() < 0.7 else rng.choice(LAST_NAMES)
    return last_name, rng.choice(FIRST_NAMES)
