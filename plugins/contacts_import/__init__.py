"""Contact import: vCard (2.1, 3.0, 4.0) and CSV exports into an address book, all or nothing.

Parsing, mapping and validation are pure functions over bytes and plain data;
``importer`` ties them to the storage, ``routes`` and ``commands`` to HTTP and
the command line.
"""
