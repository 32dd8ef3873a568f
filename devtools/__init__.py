"""What developers, ``make demo`` and the tests start beside the interface: the
partners' sandboxes, the local mail sink, the demo box office and the launcher
of the whole stack. Airflow's workers never import this package."""
