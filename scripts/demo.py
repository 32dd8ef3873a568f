"""make demo: the whole FNAC flow, then Ticketnet's, then the SecuTix reseller's, then the
real-time resellers' (Digitick, ClassicTic), on one machine, until Ctrl-C.

Starts the FNAC sandbox (a real SFTP server playing FNAC), the Ticketnet sandbox
(the same server with Ticketnet's home), the SecuTix sandbox (the same server with the
SecuTix reseller's home), a local mail sink (SMTP, with a page listing the messages), the
real-time reseller service (``realtime serve``, its own process) with the Digitick and
ClassicTic sandboxes (their customers, their sales-report endpoints; each reseller's
settings recorded and its API key issued into ``var/realtime/<reseller>/api-key``) and
Airflow (standalone) over a freshly seeded box office,
then plays a short scenario through Airflow's REST API so the UI has something to
show:

1. an event (EVT-LUMEN) and a pass (PASS-MAH-JOUR) onboarded at FNAC, the human
   step approved by this script as data ops would under Required Actions;
2. an hour of FNAC sales and a few cancellations integrated by fnac_inbound;
3. FNAC creates a customer category no tariff stands for and sells at it: a
   mapping alert, then the failed file stops the hourly run, with its e-mail;
4. EVT-LUMEN onboarded at Ticketnet, this script playing Ticketnet while the run
   waits (ACKs of the CATALOG and ALLOCATION, test tickets sold then refunded,
   ticketnet_inbound run for each SALES batch) and approving the human step;
5. Ticketnet's hourly SALES batches (sales, then more sales and a refund or two)
   integrated by ticketnet_inbound;
6. PASS-MAH-LIBRE, then EVT-LUMEN, onboarded at the SecuTix reseller, this script
   playing the reseller while each run waits (its RESULTs come from the sandbox; the
   opening tickets sold, then refunded; secutix_inbound run for each TICKETS file) and
   approving the human step;
7. half an hour of the reseller's customers buying both (two TICKETS files) integrated
   by secutix_inbound. From then on the reseller writes a TICKETS file every 15 minutes
   by itself, which the scheduled secutix_inbound integrates;
8. EVT-LUMEN onboarded at Digitick, then at ClassicTic, this script approving the human
   step and, once the run waits for it, placing the reseller's test order through the
   service (a customer of its sandbox, the reference under the settings' test prefix),
   which the run checks at access control and cancels;
9. the sandboxes' customers buy and cancel through the service, a customer every few
   seconds each, until Ctrl-C: their sales show on the Digitick and ClassicTic
   dashboards as they happen.

Everything lives under var/ and starts afresh at each run.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME", VAR / "airflow"))
PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))
TICKETNET_PORT = 2223
"""The Ticketnet sandbox's SFTP port (its ``serve`` command's default)."""
SECUTIX_PORT = 2224
"""The SecuTix sandbox's SFTP port (its ``serve`` command's default)."""
REALTIME_PORT = 8460
"""The real-time reseller service's port."""
REPORT_PORTS = {"digitick_report": 8471, "classictic_report": 8472}
"""The Digitick and ClassicTic sandboxes' sales-report endpoints."""
REALTIME_CUSTOMERS_EVERY = 6
"""Each real-time sandbox lets a customer buy (or cancel) every 6 s; before its onboarding
put a product on its channel, they find nothing on sale."""
REALTIME_PLAY_SECONDS = 60
"""How long the scenario lets them buy before its summary (they go on after)."""
SECUTIX_TICKETS_EVERY = 900
"""The SecuTix reseller writes a TICKETS file every 15 minutes by itself (section 3 point
6): the first comes once the scenario is over, or nearly."""

sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

from devtools.devstack import (  # noqa: E402
    APPROVAL_TASKS,
    Ports,
    RealtimeAtWork,
    SecutixAtWork,
    Stack,
    StackError,
    TicketnetAtWork,
    say,
)
from reseller_sync.core.resellers import reseller_type  # noqa: E402

if TYPE_CHECKING:
    from devtools.sandboxes.ticketnet import TicketnetPartner

PRODUCT_AT_TICKETNET = "EVT-LUMEN"
PRODUCTS_AT_SECUTIX = ("PASS-MAH-LIBRE", "EVT-LUMEN")
"""Onboarded at the SecuTix reseller in this order: a pass, then an event."""
PRODUCT_AT_REALTIME = {"digitick": "EVT-LUMEN", "classictic": "EVT-LUMEN"}


class Demo(Stack):
    """The demo's stack (fixed ports, state under var/) and its scenario."""

    def __init__(self) -> None:
        super().__init__(
            state_dir=VAR,
            airflow_home=AIRFLOW_HOME,
            ports=Ports(
                airflow=PORT,
                ticketnet_sftp=TICKETNET_PORT,
                secutix_sftp=SECUTIX_PORT,
                realtime=REALTIME_PORT,
                **REPORT_PORTS,
            ),
            poke_seconds=5,
            name="demo",
            secutix_tickets_every=SECUTIX_TICKETS_EVERY,
            realtime=True,
            realtime_customers_every=REALTIME_CUSTOMERS_EVERY,
        )
        self.runs: list[tuple[str, str, str, str]] = []
        """(DAG id, run id, state, state expected) of every run the scenario played."""
        self.took = 0.0
        """How long the scenario took, in seconds."""
        self.refunded = 0
        """Tickets Ticketnet refunded in its last SALES batch."""
        self.secutix_tickets: dict[str, tuple[int, int]] = {}
        """Per product on sale at the SecuTix reseller: its customers' tickets valid after
        its last TICKETS file, and the reseller's valid tickets in the box office once
        secutix_inbound integrated that file."""
        self.realtime_sales: dict[str, tuple[str, int, int]] = {}
        """Per real-time reseller: its test order's reference, tickets its customers
        bought and cancelled during the scenario."""

    def fresh_state(self, *leftovers: Path) -> None:
        super().fresh_state(VAR / "boxoffice.sqlite", *leftovers)

    # ------------------------------------------------------------------ scenario

    def play(self) -> None:
        started = time.monotonic()
        self.play_fnac()
        self.play_ticketnet()
        self.play_secutix()
        self.play_realtime()
        self.took = time.monotonic() - started

    def played(self, dag_id: str, run_id: str, state: str, expected: str = "success") -> None:
        """Record and show a run's end, and whether it is the one expected."""
        self.runs.append((dag_id, run_id, state, expected))
        note = "" if state == expected else f" (expected: {expected}; see var/logs/)"
        say(f"  {dag_id}: {state}{note}")

    def play_fnac(self) -> None:
        fnac_type = reseller_type("fnac")
        for product in ("EVT-LUMEN", "PASS-MAH-JOUR"):
            dag_id = fnac_type.dag_id("onboarding", product)
            say(f"Onboarding {product} at FNAC ({dag_id}) ...")
            run_id = self.trigger(dag_id)
            self.played(dag_id, run_id, self.finish(dag_id, run_id, approve=APPROVAL_TASKS["fnac"]))

        fnac = self.partner()
        inbound = fnac_type.dag_id("inbound")
        say("FNAC sells for an hour, and a few customers cancel ...")
        for _ in range(3):
            fnac.emit_ventes(lines=40)
        fnac.emit_annul(count=4)
        run_id = self.trigger(inbound)
        self.played(inbound, run_id, self.finish(inbound, run_id))

        say("FNAC creates category 31 'Carte Fnac+ Jeunes' and sells at it ...")
        fnac.emit_catcli(add={"31": "Carte Fnac+ Jeunes"})
        fnac.emit_ventes(lines=10, fault="new-category")
        run_id = self.trigger(inbound)
        say("  (expected to fail on integrate_sales, with a mapping error e-mail)")
        self.played(inbound, run_id, self.finish(inbound, run_id), expected="failed")

    def play_ticketnet(self) -> None:
        ticketnet = TicketnetAtWork(self, PRODUCT_AT_TICKETNET)
        say(
            f"Onboarding {ticketnet.product} at Ticketnet ({ticketnet.dag_id}); "
            "this script plays Ticketnet ..."
        )
        state = ticketnet.onboard()
        self.played(ticketnet.dag_id, ticketnet.run_id, state)
        for run_id, hourly_state in ticketnet.inbound_runs:  # played while it waited
            self.runs.append((ticketnet.inbound, run_id, hourly_state, "success"))

        partner = ticketnet.partner
        say("Ticketnet sends its hourly SALES batches: an hour of sales, then more and a refund")
        before = _refunded(partner)
        say(f"  {partner.emit_sales(tickets=24)}: 24 tickets sold")
        later = partner.emit_sales(tickets=6, refunds=2, reason="CUSTOMER")
        self.refunded = _refunded(partner) - before
        say(f"  {later}: 6 tickets sold, {self.refunded} refunded (whole orders)")
        run_id = self.trigger(ticketnet.inbound)
        self.played(ticketnet.inbound, run_id, self.finish(ticketnet.inbound, run_id))

    def play_secutix(self) -> None:
        opening: set[str] = set()
        for product in PRODUCTS_AT_SECUTIX:
            secutix = SecutixAtWork(self, product)
            say(
                f"Onboarding {secutix.product} at the SecuTix reseller ({secutix.dag_id}); "
                "this script plays the reseller ..."
            )
            state = secutix.onboard()
            self.played(secutix.dag_id, secutix.run_id, state)
            for run_id, inbound_state in secutix.inbound_runs:  # played while it waited
                self.runs.append((secutix.inbound, run_id, inbound_state, "success"))
            opening.update(secutix.refunded)

        partner = secutix.partner
        say("The SecuTix reseller's customers buy, print and cancel for half an hour ...")
        say(f"  {partner.tick(orders=6, prints=2, cancellations=0, refunds=0, renames=0)}")
        say(f"  {partner.tick(orders=4, prints=1, cancellations=1, refunds=0, renames=1)}")
        sold = Counter(
            ticket.product
            for ticket in partner.snapshot().tickets.values()
            if ticket.valid and ticket.barcode not in opening
        )
        run_id = self.trigger(secutix.inbound)
        self.played(secutix.inbound, run_id, self.finish(secutix.inbound, run_id))
        integrated = secutix.boxoffice_tickets()
        for product in PRODUCTS_AT_SECUTIX:
            self.secutix_tickets[product] = (sold[product], integrated.get(product, 0))
            say(
                f"  {product}: {sold[product]} ticket(s) valid at the reseller, "
                f"{integrated.get(product, 0)} in the box office"
            )

    def play_realtime(self) -> None:
        players = []
        for reseller, product in PRODUCT_AT_REALTIME.items():
            player = RealtimeAtWork(self, reseller, product)
            name = reseller_type(reseller).name
            say(
                f"Onboarding {product} at {name} ({player.dag_id}); this script places its "
                "test order ..."
            )
            state = player.onboard()
            self.played(player.dag_id, player.run_id, state)
            players.append(player)
        say(
            f"The Digitick and ClassicTic customers buy and cancel through the service "
            f"for {REALTIME_PLAY_SECONDS} s (and on, until Ctrl-C) ..."
        )
        time.sleep(REALTIME_PLAY_SECONDS)
        for player in players:
            sold, cancelled = player.sales()
            self.realtime_sales[player.reseller] = (player.test_order or "-", sold, cancelled)
            say(f"  {player.reseller}: {sold} ticket(s) sold, {cancelled} cancelled so far")

    def summary(self) -> None:
        mails = sorted((VAR / "mail").glob("*.eml"))
        ticketnet, secutix = self.ports.ticketnet_sftp, self.ports.secutix_sftp
        inbound = reseller_type("ticketnet").dag_id("inbound")
        hourly = sum(1 for dag_id, *_ in self.runs if dag_id == inbound) - 1
        quarterly = reseller_type("secutix").dag_id("inbound")
        quarter_runs = sum(1 for dag_id, *_ in self.runs if dag_id == quarterly) - 1
        realtime = "\n".join(
            f"    {reseller:10} test order {test}, then {sold} ticket(s) sold and "
            f"{cancelled} cancelled by its customers"
            for reseller, (test, sold, cancelled) in self.realtime_sales.items()
        )
        secutix_sales = "\n".join(
            f"    {product:16} {sold} / {integrated} ticket(s)"
            for product, (sold, integrated) in self.secutix_tickets.items()
        )
        runs = "\n".join(
            f"    {dag_id:34} {state:8}"
            + ("" if state == expected else f" NOT AS EXPECTED ({expected})")
            + f"  {run_id}"
            for dag_id, run_id, state, expected in self.runs
        )
        print(
            f"""
  Airflow UI      {self.base}    login admin / {self.password()}
  Mail sink       {self.mail_page}    ({len(mails)} e-mails in var/mail/)
  FNAC sandbox    sftp://organiser@127.0.0.1:{self.ports.sftp}    files under var/sandbox/
  Ticketnet       sftp://organiser@127.0.0.1:{ticketnet}    files under var/ticketnet-sandbox/
  SecuTix         sftp://organiser@127.0.0.1:{secutix}    files under var/secutix-sandbox/
  Real-time API   {self.realtime_url}    (docs at {self.realtime_url}/docs)
  Digitick        sales report on port {self.ports.digitick_report}    var/realtime/digitick/
  ClassicTic      sales report on port {self.ports.classictic_report}    var/realtime/classictic/
  Box office      var/boxoffice.sqlite

  The scenario took {self.took:.0f} s; its runs, in order:
{runs}

  What to look at:
  - DAGs, tag 'fnac': two onboarding runs went through every step (Graph view);
    the other products are ready to onboard (Trigger DAG, with its form).
  - fnac_inbound: the first run integrated an hour of sales and cancellations; the
    second failed on integrate_sales: FNAC sold at category 31, which no tariff
    stands for. Its e-mail says what to fix (mail sink). To fix it, add 31 to a
    tariff in include/mappings/fnac/_shared.yaml (e.g. FNAC_ADHERENT: "15|20|31"), then
    Clear the failed task: the stuck file, and every file behind it, go through.
  - DAGs, tag 'ticketnet': ticketnet_onboarding__evt-lumen went through its seven
    steps: CATALOG and ALLOCATION sent in OFFER batches and acknowledged by Ticketnet,
    the event confirmed under Required Actions (confirm_offer_at_ticketnet), the test
    tickets integrated, accepted at access control, then refunded and refused;
    EVT-LUMEN is live at Ticketnet.
  - ticketnet_inbound: {hourly} run(s) during the onboarding integrated the test
    tickets, then their refunds; the last run integrated Ticketnet's SALES batches
    since: 24 tickets sold, then 6 more and {self.refunded} refunded (whole orders).
  - DAGs, tag 'secutix': secutix_onboarding__pass-mah-libre, then
    secutix_onboarding__evt-lumen, went through their seven steps: OFFER and
    CONTINGENT answered by the reseller's RESULTs, the offer confirmed under Required
    Actions (confirm_offer_at_reseller), the opening tickets (one per seat category x
    tariff) integrated, accepted at access control, then refunded and refused; the
    pass and the concert are live at the reseller.
  - secutix_inbound: {quarter_runs} run(s) during the onboardings integrated the
    opening tickets, then their refunds; the last run integrated half an hour of the
    reseller's customers, valid at the reseller / in the box office:
{secutix_sales}
    The reseller now writes a TICKETS file every 15 minutes, which the scheduled
    secutix_inbound integrates.
  - DAGs, tags 'digitick' and 'classictic': digitick_onboarding__evt-lumen and
    classictic_onboarding__evt-lumen went through their six steps: the concert put on
    the reseller's channel (sale windows, tariffs, quota), confirm_at_reseller approved,
    the test order placed through the service, accepted at access control, cancelled
    by the organiser and refused. The sandboxes' customers buy and cancel through the
    service since, a customer every {REALTIME_CUSTOMERS_EVERY} s each:
{realtime}
  - The dashboards (menus 'FNAC', 'Ticketnet', 'SecuTix reseller', 'Digitick' and
    'ClassicTic' in the UI): journal, lateness, today's sales; the real-time
    resellers' sales grow as their customers buy (reload the page).

  Ctrl-C stops everything this command started.
""",
            flush=True,
        )


def _refunded(partner: TicketnetPartner) -> int:
    """How many tickets (test tickets aside) Ticketnet has refunded so far."""
    tickets = partner.snapshot().tickets.values()
    return sum(1 for ticket in tickets if not ticket.test and ticket.refunded_by)


def main() -> int:
    demo = Demo()
    demo.fresh_state()
    logging.basicConfig(  # the partners played here (Ticketnet) log what they do
        filename=demo.logs / "demo.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    say("Box office: migrating and seeding the demo data ...")
    demo.seed_boxoffice()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        demo.start_services()
        demo.play()
        demo.summary()
        while all(process.poll() is None for process in demo.processes):
            time.sleep(2)
        say("A service stopped; see var/logs/")
        return 1
    except KeyboardInterrupt:
        return 0
    except StackError as error:
        raise SystemExit(str(error)) from None
    finally:
        demo.stop()


if __name__ == "__main__":
    raise SystemExit(main())
