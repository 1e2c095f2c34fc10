"""The credit ledger: subjects, sources, records as events, ingestion and its formats."""
