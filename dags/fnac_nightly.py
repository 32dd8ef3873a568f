"""Every night: ETATPL reconciliation, prices, DECONT, access control. Built in
reseller_sync.airflow.nightly_dag."""

from reseller_sync.airflow.nightly_dag import build_nightly_dag

dag = build_nightly_dag()
