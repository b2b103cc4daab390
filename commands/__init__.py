"""The `ledger` command line: a thin layer over ledger.application.Ledger."""
