"""Every hour: FNAC's files in. The DAG is built in reseller_sync.airflow.inbound_dag."""

from reseller_sync.airflow.inbound_dag import build_inbound_dag

dag = build_inbound_dag()
