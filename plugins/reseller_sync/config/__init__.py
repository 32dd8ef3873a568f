"""The reseller instances' settings (``include/config/resellers/<code>.yaml``) and where the
include files live."""

from reseller_sync.config.paths import (
    configured_resellers,
    include_dir,
    mappings_dir,
    settings_path,
)
from reseller_sync.config.settings import (
    FnacSettings,
    Language,
    PricePolicy,
    ProductSettings,
    load_settings,
)

__all__ = [
    "FnacSettings",
    "Language",
    "PricePolicy",
    "ProductSettings",
    "configured_resellers",
    "include_dir",
    "load_settings",
    "mappings_dir",
    "settings_path",
]
