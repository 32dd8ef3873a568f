"""The reseller-neutral use cases, tested on FNAC's instance (the fixtures of tests/fnac)."""

from tests.fnac.conftest import fnac_settings  # noqa: F401 (fixture)
