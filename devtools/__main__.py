"""``python -m devtools``: see :mod:`devtools.cli`."""

from devtools.cli import main

raise SystemExit(main())
