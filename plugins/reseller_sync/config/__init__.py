"""The reseller instances' settings (``include/config/resellers/<code>.yaml``) and where the
include files live."""

from reseller_sync.config.paths import (
    configured_resellers,
    include_dir,
    mappings_dir,
    settings_path,
)
from reseller_sync.config.settings import (
    InstanceSettings,
    Language,
    PricePolicy,
    ProductSettings,
    load_instance_settings,
)

__all__ = [
    "InstanceSettings",
    "Language",
    "PricePolicy",
    "ProductSettings",
    "configured_resellers",
    "include_dir",
    "load_instance_settings",
    "mappings_dir",
    "settings_path",
]
