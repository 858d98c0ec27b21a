"""ledgerbridge service edges: HTTP API, worker wiring, settings and logging."""
