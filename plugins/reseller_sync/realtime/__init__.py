"""The real-time reseller service of realtime-api-v1: the box-office side that synchronous
resellers call while their customer buys (catalogue, availability, holds, orders,
cancellations), served as its own process beside Airflow.

``store`` modules are plain functions over a SQLAlchemy session: they never commit, so
that the HTTP layer stores the idempotent response in the transaction of their effects.
They raise :class:`reseller_sync.realtime.problems.Problem` for every answer that is not
a success.
"""
