"""FNAC's part of the hourly run (``fnac-exchange-v1`` sections 7.1, 7.3, 7.4, 9): CATCLI,
VENTES and ANNUL integrated in sequence order. The reseller-neutral builder
(:mod:`reseller_sync.airflow.inbound_dag`) calls these through the adapter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reseller_sync.alerts.compose import Notice
from reseller_sync.domain.texts import Localized
from reseller_sync.pipelines.notices import price_difference_notices, unmapped_category_notices

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reseller_sync.fnac.settings import FnacSettings

DOC = """
### FNAC inbound, every hour

FNAC drops its files in `/retour/` on its SFTP server (a VENTES file every
hour at minute 5, ANNUL and CATCLI when it has some). This DAG, at minute 15:

1. **land_files**: downloads every new file into the exchange journal (bytes
   and checksum). The same bytes under another name are kept but ignored.
2. **integrate_customer_categories** (CATCLI): keeps FNAC's list; a new active
   category that no tariff stands for raises a *mapping* alert at once.
3. **integrate_sales** (VENTES): each file in sequence order, each in one
   transaction: orders paid on the pending account, tickets, access control.
4. **integrate_cancellations** (ANNUL): after every VENTES file; tickets
   cancelled, barcodes refused, refunds on the pending account.
5. **watch_for_late_files**: no VENTES for too long, or a sequence gap open
   for over an hour: *external* alert "FNAC files late".
6. **report_refused_files**: files on the server that were not downloaded
   (unsafe name, too large), and files refused because FNAC used their
   sequence for another file already (spec 9.6; whichever run landed them,
   each reported once): *external* alert, tell FNAC (E02) so that it sends
   their lines again under a new sequence. The other files go on.

**When a task fails**, the e-mail says which file, which lines and what to do:
- *mapping error*: fix `include/mappings/fnac/` (or run `python -m reseller_sync
  mappings check`), then **Clear** the failed task: the stuck file and every
  file behind it are integrated, in order, each once.
- *external error*: the task retried already; check the file with FNAC. A
  file FNAC cannot correct (truncated, wrong trailer or encoding) is resent by
  FNAC under the next sequence (spec 9.5): set the failed file aside
  (`python -m reseller_sync journal set-aside FILE --reason "..."`, or its page
  in the FNAC dashboard), then **Clear** the task: the type goes on from there.
- *technical error*: call support with the task's log.

A failed file stops the files of its type behind it, and the next runs wait
(one run at a time; the integration tasks depend on the previous run's).
Nothing is skipped, lost or integrated twice.
"""


@dataclass(frozen=True)
class StreamIntegration:
    """What one hourly integration of a stream did, and the notices it raises."""

    summary: dict[str, Any]
    notices: Sequence[Notice] = field(default=())


def land_new_files(settings: FnacSettings) -> dict[str, Any]:
    """Every new file of FNAC's folder into the journal."""
    from reseller_sync.fnac.outbound import transport_for
    from reseller_sync.pipelines.inbound import land_new_files as land

    return land(None, settings.reseller_code, transport_for(settings)).summary()


def integrate_stream(settings: FnacSettings, stream: str) -> StreamIntegration:
    """The ready files of one file type, in sequence order; raises at the first that fails."""
    from reseller_sync.fnac.adapter import inbound_files
    from reseller_sync.fnac.names import FileType
    from reseller_sync.pipelines.inbound import integrate_pending

    file_type = FileType(stream)
    result = integrate_pending(None, settings, inbound_files(settings), stream)
    if file_type is FileType.CATCLI:
        return StreamIntegration(
            {"files": [f.name for f in result.files]},
            [notice for f in result.files for notice in _new_categories(f.name, f.outcome)],
        )
    return StreamIntegration(
        {
            "files": [f.name for f in result.files],
            "lines": sum(f.lines for f in result.files),
            "missing_sequences": list(result.missing),
            "waiting_for": result.waiting_for,
        },
        [notice for f in result.files for notice in _price_differences(f.name, f.outcome)],
    )


NEW_CATEGORY_ACTION = Localized(
    fr="Rattachez chaque nouvelle catégorie à un tarif dans "
    'include/mappings/fnac/_shared.yaml (par exemple FNAC_ADHERENT: "15|20|31"), puis '
    "vérifiez avec `python -m reseller_sync mappings check` : tant qu'elle n'est pas "
    "rattachée, les ventes de {reseller} à cette catégorie ne peuvent pas être intégrées. "
    "Rien à relancer : la liste des catégories est intégrée.",
    en="Map each new category to a tariff in include/mappings/fnac/_shared.yaml (for "
    'example FNAC_ADHERENT: "15|20|31"), then check with `python -m reseller_sync '
    "mappings check`: until it is mapped, {reseller}'s sales at that category cannot be "
    "integrated. Nothing to clear: the list of categories was integrated.",
)
"""What to do about FNAC customer categories that no tariff stands for (CATCLI)."""


def _new_categories(file_name: str, outcome: Any) -> list[Notice]:
    count = len(outcome.unmapped.categories)
    return unmapped_category_notices(
        file_name,
        outcome,
        kind="new_customer_category",
        message=Localized(
            fr=f"{{reseller}} a {count} catégorie(s) de client active(s) qu'aucun tarif ne "
            "représente : leurs ventes ne peuvent pas être intégrées tant qu'elles ne sont "
            "pas rattachées.",
            en=f"{{reseller}} has {count} active customer category(ies) that no tariff "
            "stands for: their sales cannot be integrated until they are mapped.",
        ),
        action=NEW_CATEGORY_ACTION,
    )


def _price_differences(file_name: str, outcome: Any) -> list[Notice]:
    return price_difference_notices(file_name, outcome, reseller_name="FNAC", column="prix_ttc")


def watch_for_late_files(session: Session, settings: FnacSettings, now: dt.datetime) -> None:
    """Raise "files late" when VENTES stop or a sequence gap stays open."""
    from reseller_sync.fnac.watchdog import check_files_late

    check_files_late(session, settings, now)


def report_refused_files(not_downloaded: Sequence[str]) -> None:
    """Fail naming files left on the server, and files refused for a reused sequence."""
    from reseller_sync.fnac.adapter import RESELLER_TYPE
    from reseller_sync.pipelines.inbound import check_refused_files

    check_refused_files(None, RESELLER_TYPE.code, not_downloaded)
