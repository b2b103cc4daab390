"""Bulk import: a file of write commands, checked whole, then run in batches."""
