"""The reseller's points of sale and customers: made up, realistic, reproducible from a seed.

The customer's details go into the ``CONTACT_*`` columns, which the organiser must
drop at reading (``secutix-reseller-v1`` section 11). They are fake and easy to find
wherever they should not be: every e-mail ends with :data:`CONTACT_EMAIL_DOMAIN`,
every phone starts with :data:`CONTACT_PHONE_PREFIX`, every customer number with
:data:`CONTACT_NUMBER_PREFIX`. Ticket holders' names (``BENEFICIARY_*``) are kept by
the organiser; they carry accents, apostrophes and commas.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from devtools.sandboxes.names import FIRST_NAMES, LAST_NAMES, ascii_name

LOCAL_TIME = ZoneInfo("Europe/Paris")
"""The reseller's local time: its files are stamped with this offset."""

CONTACT_EMAIL_DOMAIN = "client-revendeur.example"
CONTACT_PHONE_PREFIX = "+3361888"
CONTACT_NUMBER_PREFIX = "77"

POINTS_OF_SALE: tuple[tuple[str, bool, int], ...] = (
    ("WEB", True, 60),
    ("CALLCENTER", True, 10),
    ("GUICHET1", False, 20),
    ("GUICHET2", False, 10),
)
"""Code, whether the customer's contact details are known, weight."""

STREETS = (
    "rue de la Paix; bât. B",
    "avenue Jean-Jaurès",
    'allée des "Tilleuls"',
    "chemin du Lac",
    "place Bellecour, esc. 2",
)
"""Some addresses hold ``;`` or ``"``: the writer must quote them (section 5)."""
CITIES = ("75002 Paris", "69002 Lyon", "1204 Genève", "67000 Strasbourg", "44000 Nantes")


@dataclass(frozen=True)
class Customer:
    point_of_sale: str
    first_name: str
    last_name: str
    number: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""

    def contacts(self) -> tuple[str, str, str, str]:
        return self.number, self.email, self.phone, self.address


def make_customer(rng: random.Random) -> Customer:
    """A customer at a point of sale: with contact details on the web and by phone."""
    codes, remote, weights = zip(*POINTS_OF_SALE, strict=True)
    index = rng.choices(range(len(codes)), weights=weights)[0]
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    if not remote[index]:
        return Customer(codes[index], first, last)
    return Customer(
        codes[index],
        first,
        last,
        number=f"{CONTACT_NUMBER_PREFIX}{rng.randrange(10**5):05d}",
        email=f"{ascii_name(first)}.{ascii_name(last)}{rng.randrange(1, 100)}"
        f"@{CONTACT_EMAIL_DOMAIN}",
        phone=f"{CONTACT_PHONE_PREFIX}{rng.randrange(10**4):04d}",
        address=f"{rng.randrange(1, 120)} {rng.choice(STREETS)}, {rng.choice(CITIES)}",
    )


def beneficiary(rng: random.Random, customer: Customer) -> tuple[str, str]:
    """The ticket holder (first, last name): the customer's family mostly."""
    last = customer.last_name if rng.random() < 0.7 else rng.choice(LAST_NAMES)
    return rng.choice(FIRST_NAMES), last


def other_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
