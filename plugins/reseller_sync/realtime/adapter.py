"""What every synchronous reseller's adapter does, whatever the reseller: its hooks for the
reseller-neutral core (see ``docs/adding-a-reseller.md``), each taking the reseller's type
and its settings.

A synchronous reseller has no files: no naming, no inbound streams, no hourly run. Its
sales come from its calls to the service (:mod:`reseller_sync.realtime`), its nightly run
pulls its sales report. Each adapter module (one per reseller package) binds these
functions to its own type and settings model through :class:`RealtimeAdapter`, and stays a
few lines long.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from reseller_sync.core.resellers import ResellerType

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reseller_sync.airflow.steps import OnboardingStep
    from reseller_sync.dashboard.queries import StreamExpectation
    from reseller_sync.mappings.check import CheckResult
    from reseller_sync.realtime.instance_settings import RealtimeInstanceSettings
    from reseller_sync.realtime.product_check import ProductVerdict

SettingsLoader = Callable[[], "RealtimeInstanceSettings"]
SettingsT = TypeVar("SettingsT", bound="RealtimeInstanceSettings")


def check_product(
    reseller: ResellerType, session: Session, settings: RealtimeInstanceSettings, product_code: str
) -> ProductVerdict:
    """May the reseller sell the product, and can it go on its channel?"""
    from reseller_sync.realtime.product_check import check_product as check

    return check(reseller, session, settings, product_code)


def check_mappings(
    reseller: ResellerType,
    settings: RealtimeInstanceSettings,
    session: Session | None,
    products: Sequence[str] | None = None,
) -> CheckResult:
    """The codes the reseller sees for the products: the box office's own, each valid."""
    from reseller_sync.realtime.product_check import check_mappings as check

    return check(reseller, settings, session, products)


@cache
def onboarding_steps(reseller: ResellerType, load: SettingsLoader) -> Sequence[OnboardingStep]:
    """The onboarding of a product at the reseller, step by step: declared once per process,
    as the file resellers' are at import."""
    from reseller_sync.realtime.onboarding import RealtimeOnboarding

    return RealtimeOnboarding(reseller, load).steps()


def onboarding_doc(reseller: ResellerType, load: SettingsLoader, product_code: str) -> str:
    """What the onboarding DAG of the product says in the UI."""
    from reseller_sync.realtime.onboarding import RealtimeOnboarding

    return RealtimeOnboarding(reseller, load).doc(product_code)


def expected_streams(settings: RealtimeInstanceSettings) -> tuple[StreamExpectation, ...]:
    """No file streams: the dashboard lists none for a synchronous reseller."""
    return ()


class RealtimeAdapter(Generic[SettingsT]):
    """The hooks above bound to one reseller type and its settings loader (its adapter
    module's ``load_settings``): the adapter module exposes each bound method under the
    hook's name."""

    def __init__(self, reseller: ResellerType, load: Callable[[], SettingsT]) -> None:
        self.reseller = reseller
        self.load = load

    def check_product(
        self, session: Session, settings: SettingsT, product_code: str
    ) -> ProductVerdict:
        """May the reseller sell the product, and can it go on its channel?"""
        return check_product(self.reseller, session, settings, product_code)

    def check_mappings(
        self, settings: SettingsT, session: Session | None, products: Sequence[str] | None = None
    ) -> CheckResult:
        """The codes the reseller sees: the box office's own, each a valid id."""
        return check_mappings(self.reseller, settings, session, products)

    def onboarding_steps(self) -> Sequence[OnboardingStep]:
        """The onboarding of a product at the reseller, step by step, for the onboarding
        builder."""
        return onboarding_steps(self.reseller, self.load)

    def onboarding_doc(self, product_code: str) -> str:
        """What the onboarding DAG of the product says in the UI."""
        return onboarding_doc(self.reseller, self.load, product_code)

    def expected_streams(self, settings: SettingsT) -> tuple[StreamExpectation, ...]:
        """No file streams: the reseller calls the service."""
        return expected_streams(settings)


# --------------------------------------------------------------------------- commands


def register_commands(subparsers: Any, reseller: ResellerType, load: SettingsLoader) -> None:
    """The reseller's operator command group, named after its code: ``record`` writes its
    instance settings into the box office, as onboarding does, so that its API keys can be
    issued (``python -m reseller_sync realtime keys issue <code>``) before any product."""
    parser = subparsers.add_parser(
        reseller.code, help=f"{reseller.name}, synchronous reseller ({reseller.contract})"
    )
    commands = parser.add_subparsers(
        dest=f"{reseller.code}_command", required=True, metavar="COMMAND"
    )
    record = commands.add_parser(
        "record",
        help="record the reseller's settings for the service (channel, kinds, price check, limits)",
        description=f"Write {reseller.name}'s instance settings into the box office, as its "
        "onboarding does, so that its API keys can be issued before any product goes on sale.",
    )
    record.add_argument("--database-url", help="default: the box office's usual URL")
    record.set_defaults(handler=lambda args: record_command(args, reseller, load))


def record_command(args: argparse.Namespace, reseller: ResellerType, load: SettingsLoader) -> int:
    from reseller_sync.boxoffice.db import make_engine, session_scope
    from reseller_sync.domain.errors import ConfigurationError
    from reseller_sync.realtime.onboarding import record_settings
    from reseller_sync.realtime.settings import reseller_context

    try:
        settings = load()
        with session_scope(make_engine(args.database_url)) as session:
            record_settings(session, reseller, settings)
            context = reseller_context(session, reseller.code)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    except (KeyError, ValueError) as error:
        print(f"error: {error.args[0] if error.args else error}", file=sys.stderr)
        return 1
    print(
        f"{reseller.name} recorded at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: kinds "
        f"{', '.join(context.product_kinds)}, price check {context.price_compare} "
        f"{context.price_policy}, {context.max_places_per_hold} places per hold, "
        f"{context.rate_per_second}/s (burst {context.burst})"
    )
    return 0
