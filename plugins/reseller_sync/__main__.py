"""``python -m reseller_sync``: see :mod:`reseller_sync.cli`."""

from reseller_sync.cli import main

raise SystemExit(main())
