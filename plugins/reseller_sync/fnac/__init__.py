"""The FNAC exchange contract, ``fnac-exchange-v1``: the adapter of the FNAC reseller type.

* :mod:`~reseller_sync.fnac.codec`: the public API in one import (read,
  validate and write files of every type; names and sequences);
* :mod:`~reseller_sync.fnac.names`: file names and sequences (no pandas);
* :mod:`~reseller_sync.fnac.schema`: columns and rules of each file type,
  and ``BUYER_CONTACT_COLUMNS``;
* :mod:`~reseller_sync.fnac.values`: value formats of codes, amounts, dates;
* :mod:`~reseller_sync.fnac.errors`: ``FileFormatError`` and ``FileWriteError``;
* :mod:`~reseller_sync.fnac.cli`: the ``fnac check`` command.

This module imports nothing, so that reading names does not load pandas.
"""
