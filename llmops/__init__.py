"""llmops-platform: the runtime the ingestion functions, the SDK and the CLI share."""

__version__ = "0.1.0"
