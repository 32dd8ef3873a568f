"""make demo: the whole FNAC flow on one machine, until Ctrl-C.

Starts the FNAC sandbox (a real SFTP server playing FNAC), a local mail sink
(SMTP, with a page listing the messages) and Airflow (standalone) over a
freshly seeded box office, then plays a short scenario through Airflow's REST
API so the UI has something to show:

1. an event (EVT-LUMEN) and a pass (PASS-MAH-JOUR) onboarded, the human step
   approved by this script as data ops would under Required Actions;
2. an hour of FNAC sales and a few cancellations integrated by fnac_inbound;
3. FNAC creates a customer category no tariff stands for and sells at it: a
   mapping alert, then the failed file stops the hourly run, with its e-mail.

Everything lives under var/ and starts afresh at each run.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME", VAR / "airflow"))
PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))
TICKETNET_PORT = 2223
"""The Ticketnet sandbox's SFTP port (its ``serve`` command's default)."""

sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]

from devtools.devstack import APPROVAL_TASK, Ports, Stack, StackError, say  # noqa: E402
from reseller_sync.core.resellers import reseller_type  # noqa: E402


class Demo(Stack):
    """The demo's stack (fixed ports, state under var/) and its scenario."""

    def __init__(self) -> None:
        super().__init__(
            state_dir=VAR,
            airflow_home=AIRFLOW_HOME,
            ports=Ports(airflow=PORT, ticketnet_sftp=TICKETNET_PORT),
            poke_seconds=5,
            name="demo",
        )

    def fresh_state(self, *leftovers: Path) -> None:
        super().fresh_state(VAR / "boxoffice.sqlite", *leftovers)

    # ------------------------------------------------------------------ scenario

    def play(self) -> None:
        for product in ("EVT-LUMEN", "PASS-MAH-JOUR"):
            dag_id = reseller_type("fnac").dag_id("onboarding", product)
            say(f"Onboarding {product} at FNAC ({dag_id}) ...")
            state = self.finish(dag_id, self.trigger(dag_id), approve=APPROVAL_TASK)
            say(f"  {dag_id}: {state}")

        fnac = self.partner()
        say("FNAC sells for an hour, and a few customers cancel ...")
        for _ in range(3):
            fnac.emit_ventes(lines=40)
        fnac.emit_annul(count=4)
        state = self.finish("fnac_inbound", self.trigger("fnac_inbound"))
        say(f"  fnac_inbound: {state}")

        say("FNAC creates category 31 'Carte Fnac+ Jeunes' and sells at it ...")
        fnac.emit_catcli(add={"31": "Carte Fnac+ Jeunes"})
        fnac.emit_ventes(lines=10, fault="new-category")
        state = self.finish("fnac_inbound", self.trigger("fnac_inbound"))
        say(f"  fnac_inbound: {state} (expected: failed, with a mapping error e-mail)")

    def summary(self) -> None:
        mails = sorted((VAR / "mail").glob("*.eml"))
        ticketnet = self.ports.ticketnet_sftp
        print(
            f"""
  Airflow UI      {self.base}    login admin / {self.password()}
  Mail sink       {self.mail_page}    ({len(mails)} e-mails in var/mail/)
  FNAC sandbox    sftp://organiser@127.0.0.1:{self.ports.sftp}    files under var/sandbox/
  Ticketnet       sftp://organiser@127.0.0.1:{ticketnet}    files under var/ticketnet-sandbox/
  Box office      var/boxoffice.sqlite

  What to look at:
  - DAGs, tag 'fnac': two onboarding runs went through every step (Graph view);
    the other products are ready to onboard (Trigger DAG, with its form).
  - fnac_inbound: the first run integrated an hour of sales and cancellations; the
    second failed on integrate_sales: FNAC sold at category 31, which no tariff
    stands for. Its e-mail says what to fix (mail sink). To fix it, add 31 to a
    tariff in include/mappings/fnac/_shared.yaml (e.g. FNAC_ADHERENT: "15|20|31"), then
    Clear the failed task: the stuck file, and every file behind it, go through.
  - The FNAC dashboard (menu 'FNAC' in the UI, when installed): journal, lateness,
    today's sales.

  Ctrl-C stops everything this command started.
""",
            flush=True,
        )


def main() -> int:
    demo = Demo()
    demo.fresh_state()
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
