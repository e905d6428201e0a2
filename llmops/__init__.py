"""llmops-platform: the runtime shared by the ingestion functions, the SDK and the CLI."""

__version__ = "0.1.0"
