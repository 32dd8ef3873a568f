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

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME", VAR / "airflow"))
PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))
SFTP_PORT, SMTP_PORT, MAIL_PAGE_PORT = 2222, 8025, 8026
BASE = f"http://localhost:{PORT}"
PYTHON = sys.executable

sys.path.insert(0, str(ROOT / "plugins"))


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


class Demo:
    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.token = ""

    # ------------------------------------------------------------------ set-up

    def fresh_state(self) -> None:
        for folder in ("sandbox", "mail", "reports", "logs"):
            shutil.rmtree(VAR / folder, ignore_errors=True)
        for leftover in (VAR / "boxoffice.sqlite", AIRFLOW_HOME / "airflow.db"):
            for path in leftover.parent.glob(leftover.name + "*"):
                path.unlink()
        (VAR / "logs").mkdir(parents=True, exist_ok=True)

    def run(self, *args: str) -> None:
        subprocess.run([PYTHON, "-m", "reseller_sync", *args], check=True, cwd=ROOT)

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        log = open(VAR / "logs" / f"{name}.log", "wb")  # noqa: SIM115 - kept open while it runs
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env=env, start_new_session=True)
        self.processes.append(process)

    def stop(self) -> None:
        say("Stopping everything the demo started ...")
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def connections(self) -> dict[str, str]:
        from reseller_sync.fnac.sandbox import connection_env_var, sandbox_connection_json

        smtp = {"conn_type": "smtp", "host": "127.0.0.1", "port": SMTP_PORT,
                "extra": {"from_email": "fnac-interface@organiser.example", "disable_tls": True,
                          "disable_ssl": True, "timeout": 10}}
        return {
            connection_env_var("fnac_sftp"): sandbox_connection_json("127.0.0.1", SFTP_PORT),
            "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(smtp),
        }

    def start_services(self) -> None:
        say(f"FNAC sandbox: SFTP on 127.0.0.1:{SFTP_PORT}, FNAC answers every 2 s")
        self.start("sandbox", [PYTHON, "-m", "reseller_sync", "sandbox", "serve",
                               "--root", str(VAR / "sandbox"), "--port", str(SFTP_PORT),
                               "--interval", "2", "--auto-test", "--seed", "2026"])
        say(f"Mail sink: SMTP on 127.0.0.1:{SMTP_PORT}, messages at "
            f"http://localhost:{MAIL_PAGE_PORT}")
        self.start("mailsink", [PYTHON, "-m", "reseller_sync", "mailsink", "serve",
                                "--dir", str(VAR / "mail"), "--port", str(SMTP_PORT),
                                "--web-port", str(MAIL_PAGE_PORT)])
        env = {**os.environ, **self.connections(),
               "AIRFLOW__API__PORT": str(PORT),
               "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
               "AIRFLOW__API__BASE_URL": BASE,
               "RESELLER_SYNC_POKE_SECONDS": "5"}
        say("Airflow: migrating its metadata database ...")
        subprocess.run(["airflow", "db", "migrate"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        say(f"Airflow: starting (log: var/logs/airflow.log) on {BASE} ...")
        self.start("airflow", ["airflow", "standalone"], env=env)
        self.wait_for(lambda: self.healthy(), "Airflow to be healthy", 240)
        self.login()

    # ------------------------------------------------------------------ REST API

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{BASE}/api/v2/monitor/health", timeout=5) as answer:
                health = json.load(answer)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return all(part.get("status") == "healthy" for part in health.values())

    def password(self) -> str:
        path = AIRFLOW_HOME / "simple_auth_manager_passwords.json.generated"
        return str(json.loads(path.read_text())["admin"])

    def login(self) -> None:
        request = urllib.request.Request(
            f"{BASE}/auth/token", method="POST",
            data=json.dumps({"username": "admin", "password": self.password()}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            self.token = json.load(answer)["access_token"]

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{BASE}/api/v2{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    def wait_for(self, ready: Any, what: str, seconds: float) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if result := ready():
                return result
            for process in self.processes:
                if process.poll() is not None:
                    raise SystemExit(f"{process.args[2:4]} stopped; see var/logs/")
            time.sleep(2)
        raise SystemExit(f"Gave up waiting for {what} after {seconds:.0f} s; see var/logs/")

    def dag_is_ready(self, dag_id: str) -> bool:
        try:
            self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        except urllib.error.HTTPError:
            return False
        return True

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        self.wait_for(lambda: self.dag_is_ready(dag_id), f"{dag_id} to be parsed", 180)
        run = self.api("POST", f"/dags/{dag_id}/dagRuns",
                       {"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def finish(self, dag_id: str, run_id: str, approve: str | None = None,
               seconds: float = 600) -> str:
        """Wait for the run to end, approving its human step when it asks."""
        approved = False

        def done() -> str | None:
            nonlocal approved
            if approve and not approved:
                instance = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/"
                                           f"{approve}")
                if instance["state"] == "awaiting_input":
                    say(f"  {dag_id}: a person approves '{approve}' (Required Actions)")
                    self.api("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/"
                                      f"{approve}/-1/hitlDetails",
                             {"chosen_options": ["Approve"], "params_input": {}})
                    approved = True
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return str(self.wait_for(done, f"{dag_id} to finish", seconds))

    # ------------------------------------------------------------------ scenario

    def partner(self) -> Any:
        from reseller_sync.fnac.sandbox import CodeBook, FnacPartner
        from reseller_sync.fnac.sandbox.server import DEMO_USERNAME

        return FnacPartner(VAR / "sandbox", DEMO_USERNAME, CodeBook.from_mappings(), seed=2026)

    def play(self) -> None:
        for product in ("EVT-LUMEN", "PASS-MAH-JOUR"):
            dag_id = f"fnac_onboarding__{product.lower()}"
            say(f"Onboarding {product} at FNAC ({dag_id}) ...")
            state = self.finish(dag_id, self.trigger(dag_id),
                                approve="confirm_fnac_codes_recorded")
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
        print(f"""
  Airflow UI      {BASE}    login admin / {self.password()}
  Mail sink       http://localhost:{MAIL_PAGE_PORT}    ({len(mails)} e-mails in var/mail/)
  FNAC sandbox    sftp://organiser@127.0.0.1:{SFTP_PORT}    files under var/sandbox/
  Box office      var/boxoffice.sqlite

  What to look at:
  - DAGs, tag 'fnac': two onboarding runs went through every step (Graph view);
    the other products are ready to onboard (Trigger DAG, with its form).
  - fnac_inbound: the first run integrated an hour of sales and cancellations; the
    second failed on integrate_sales: FNAC sold at category 31, which no tariff
    stands for. Its e-mail says what to fix (mail sink). To fix it, add 31 to a
    tariff in include/mappings/_shared.yaml (e.g. FNAC_ADHERENT: "15|20|31"), then
    Clear the failed task: the stuck file, and every file behind it, go through.
  - The FNAC dashboard (menu 'FNAC' in the UI, when installed): journal, lateness,
    today's sales.

  Ctrl-C stops everything this command started.
""", flush=True)


def main() -> int:
    demo = Demo()
    demo.fresh_state()
    say("Box office: migrating and seeding the demo data ...")
    demo.run("db", "upgrade")
    demo.run("db", "seed-demo")
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
    finally:
        demo.stop()


if __name__ == "__main__":
    raise SystemExit(main())
