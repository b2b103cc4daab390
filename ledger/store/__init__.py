"""The store layer: the only code that knows the event tables, their columns
and SQL, and the one place that touches eventsourcing's internals."""
