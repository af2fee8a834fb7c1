"""Settlement reconciliation (issue 18): the day held against the gateway's own report files.

The gateway settles what it believes happened, not what the journal says; its transaction details and
settlement reports (CSV or XLSX, fetched over SFTP or from the dashboard) are read here, matched against the
journal (or the store's PostgreSQL) by a pure core, and the differences kept until a later report resolves them.
"""
