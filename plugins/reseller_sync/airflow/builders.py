"""Every DAG of a reseller instance, from the same builders for every reseller type.

Every reseller gets ``<code>_onboarding__<product>`` per product on sale there; a
file reseller also ``<code>_inbound`` and ``<code>_nightly``, a real-time reseller its
``<code>_nightly`` (its sales report reconciled). Reading the settings touches no database,
so parsing stays fast.
"""

from __future__ import annotations

from airflow.sdk import DAG

from reseller_sync.core.resellers import InterfaceKind, adapter, reseller_type


def build_reseller_dags(code: str) -> dict[str, DAG]:
    """The DAGs of the reseller instance ``code``, by DAG id."""
    from reseller_sync.airflow.inbound_dag import build_inbound_dag
    from reseller_sync.airflow.nightly_dag import build_nightly_dag
    from reseller_sync.airflow.onboarding_dag import build_onboarding_dags

    reseller = reseller_type(code)
    products = adapter(code).load_settings().product_codes
    dags = build_onboarding_dags(reseller, products)
    if reseller.interface is InterfaceKind.FILES:
        for dag in (build_inbound_dag(reseller), build_nightly_dag(reseller)):
            dags[dag.dag_id] = dag
    elif reseller.interface is InterfaceKind.REALTIME:
        from reseller_sync.airflow.realtime_nightly_dag import build_realtime_nightly_dag

        nightly = build_realtime_nightly_dag(reseller)
        dags[nightly.dag_id] = nightly
    return dags
