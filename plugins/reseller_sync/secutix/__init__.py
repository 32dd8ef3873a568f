"""The SecuTix box office as reseller (``secutix-reseller-v1``): its codec's reading side.

Not a reseller type yet: no adapter is registered. What is here reads the
files the reseller writes (TICKETS, STOCK, RESULT) and checks them without
the organiser's box office (``python -m reseller_sync secutix check``).
"""
