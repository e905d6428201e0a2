"""Interaction and feedback logging, user erasure, the views and the report.

from llmops.monitoring import InteractionLogger

with InteractionLogger(tables, use_case="support", pseudonym_key=key,
                       dead_letter_path="dead-letter.jsonl") as log:
    interaction = log.log_interaction(prompt=..., response=..., model_name=...)
    log.log_feedback(interaction, thumbs=1)
"""

from llmops.monitoring.erase import ErasureResult, erase_user
from llmops.monitoring.logger import (
    FlushResult,
    InteractionLogger,
    RejectedRow,
    SafetyAttribute,
)
from llmops.monitoring.prices import PriceTable
from llmops.monitoring.pseudonyms import pseudonym, pseudonym_key_from_env
from llmops.monitoring.report import (
    ReportData,
    collect,
    render_html,
    summary,
    write_report,
)
from llmops.monitoring.views import create_views

__all__ = [
    "ErasureResult",
    "FlushResult",
    "InteractionLogger",
    "PriceTable",
    "RejectedRow",
    "ReportData",
    "SafetyAttribute",
    "collect",
    "create_views",
    "erase_user",
    "pseudonym",
    "pseudonym_key_from_env",
    "render_html",
    "summary",
    "write_report",
]
