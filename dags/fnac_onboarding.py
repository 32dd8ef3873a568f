"""One onboarding DAG per product on sale at FNAC (include/config/fnac.yaml).

The DAGs are built in reseller_sync.airflow.onboarding_dag; reading the
settings touches no database, so parsing stays fast.
"""

from reseller_sync.airflow.onboarding_dag import build_onboarding_dags
from reseller_sync.config.settings import load_settings

globals().update(build_onboarding_dags(load_settings().product_codes))
