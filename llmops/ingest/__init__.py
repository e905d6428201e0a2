"""The ingestion path: extract, chunk, embed, upsert, record."""
