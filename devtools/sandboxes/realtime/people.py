"""The sandbox reseller's customers' contact details: the reseller holds them, the box office
must never receive them (realtime-api-v1, section 10). They are fake and easy to find
wherever they should not be: every e-mail ends with :data:`CONTACT_EMAIL_DOMAIN`, every
phone starts with :data:`CONTACT_PHONE_PREFIX`."""

from __future__ import annotations

import random
from dataclasses import dataclass

from devtools.sandboxes.names import FIRST_NAMES, LAST_NAMES, ascii_name

CONTACT_EMAIL_DOMAIN = "client-revendeur-rt.example"
CONTACT_PHONE_PREFIX = "+3361777"


@dataclass(frozen=True)
class Buyer:
    first_name: str
    last_name: str
    email: str
    phone: str


def make_buyer(rng: random.Random) -> Buyer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    mailbox = f"{ascii_name(first)}.{ascii_name(last)}{rng.randrange(1, 100)}"
    return Buyer(
        first,
        last,
        email=f"{mailbox}@{CONTACT_EMAIL_DOMAIN}",
        phone=f"{CONTACT_PHONE_PREFIX}{rng.randrange(10**4):04d}",
    )
