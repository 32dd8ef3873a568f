"""Every reseller instance's DAGs (``include/config/resellers/<code>.yaml``): for each,
its onboarding DAGs, and for a file reseller its hourly and nightly DAGs.

The DAGs are built in reseller_sync.airflow.builders; reading the settings
touches no database, so parsing stays fast.
"""

from reseller_sync.airflow.builders import build_reseller_dags
from reseller_sync.config.paths import configured_resellers

for _code in configured_resellers():
    globals().update(build_reseller_dags(_code))
