"""Names shared by the real-time load benchmark and its locust users (no locust import here:
importing locust monkey-patches the process with gevent)."""

from __future__ import annotations

PREFIX = "/realtime/v1"
AVAILABILITY = "GET availability"
AVAILABILITY_SEATS = "GET availability seats=true"
HOLD = "POST /holds"
ORDER = "POST /orders"
CANCELLATION = "POST /orders/{id}/cancellations"
GET_ORDER = "GET /orders/{id}"
CATALOGUE = "GET /products"
OPERATIONS = (AVAILABILITY, AVAILABILITY_SEATS, HOLD, ORDER, CANCELLATION, GET_ORDER, CATALOGUE)
"""The operations of section 15's mix, as the benchmark names them."""
