"""The Ticketnet exchange contract, ``ticketnet-exchange-v1``: its file codec.

* :mod:`~reseller_sync.ticketnet.names`: streams, batch ids and file names (section 4);
* :mod:`~reseller_sync.ticketnet.errors`: the reading and ACK codes (section 10) and
  the errors that carry them;
* :mod:`~reseller_sync.ticketnet.schema`: the columns of each file type and their
  formats (sections 5, 7 and 8);
* :mod:`~reseller_sync.ticketnet.formats`: field formats, checked on Arrow arrays;
* :mod:`~reseller_sync.ticketnet.checks`: the checks of a data file's records;
* :mod:`~reseller_sync.ticketnet.manifest`: manifests (section 6);
* :mod:`~reseller_sync.ticketnet.reader`: verifying and reading a batch (section 6);
* :mod:`~reseller_sync.ticketnet.writer`: writing data files and batches, both directions;
* :mod:`~reseller_sync.ticketnet.ack`: ACK files (section 7.4);
* :mod:`~reseller_sync.ticketnet.check`: the checks across records and batches of a folder;
* :mod:`~reseller_sync.ticketnet.cli`: the ``ticketnet check`` command.

This module imports nothing, so that reading names does not load pyarrow.
"""
