"""Digitick, a synchronous reseller (``realtime-api-v1``): it calls the box office's web
service while its customer buys. The package is thin: its type, its settings model, its
adapter hooks and its operator commands; everything real-time resellers share is in
:mod:`reseller_sync.realtime`."""
