"""SQL the pipelines run, one file per query, with ``{dataset}`` placeholders."""
