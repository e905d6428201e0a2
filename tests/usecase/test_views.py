"""The monitoring views return the known answer on seeded tables (on the emulator)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from llmops.backends.bigquery import BigQueryTableStore
from llmops.monitoring import PriceTable
from llmops.monitoring.prices import usage_cost

DAY = dt.date(2026, 11, 30)


def _interaction(n: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "interaction_id": f"i{n}",
        "request_time": f"{DAY.isoformat()}T{10 + n:02d}:00:00+00:00",
        "use_case": "support",
        "template_name": "answer",
        "template_version": 1,
        "model_name": "gemini-2.0-flash",
        "safety_attributes": [],
        "guardrails": [],
        "retrieved_chunk_ids": [],
    }
    row.update(fields)
    return row


@pytest.fixture
def seeded(monitoring_tables: BigQueryTableStore) -> BigQueryTableStore:
    """Tables holding five interactions in two groups, feedback and ingestion rows."""
    harm = {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "score": 0.9}
    monitoring_tables.insert(
        "interactions",
        [
            _interaction(
                1,
                latency_ms=100.0,
                output_chars=10,
                input_chars=40,
                input_tokens=10,
                output_tokens=3,
                prompt_sentiment=0.6,
                conversation_id="c1",
                turn=1,
                safety_attributes=[{**harm, "blocked": True}],
                guardrails=["pii"],
            ),
            _interaction(
                2,
                latency_ms=200.0,
                output_chars=20,
                input_chars=80,
                input_tokens=20,
                output_tokens=5,
                prompt_sentiment=-0.7,
                conversation_id="c1",
                turn=2,
                safety_attributes=[{**harm, "probability": "LOW", "blocked": False}],
                guardrails=["pii", "prompt_injection"],
            ),
            _interaction(
                3,
                latency_ms=300.0,
                output_chars=30,
                input_chars=8,
                input_tokens=None,
                output_tokens=None,
                prompt_sentiment=0.0,
                conversation_id="c2",
                turn=1,
            ),
            _interaction(
                4,
                template_version=2,
                model_name="local-echo",
                latency_ms=1000.0,
                output_chars=100,
                input_chars=4,
                input_tokens=1,
                output_tokens=25,
                conversation_id="c3",
                turn=1,
            ),
            _interaction(
                5,
                template_version=2,
                model_name="local-echo",
                latency_ms=3000.0,
                output_chars=300,
                input_chars=4,
                input_tokens=1,
                output_tokens=75,
                conversation_id="c3",
                turn=2,
            ),
        ],
    )
    monitoring_tables.insert(
        "feedback",
        [
            {
                "feedback_id": "f1",
                "interaction_id": "i1",
                "use_case": "support",
                "feedback_time": f"{DAY.isoformat()}T12:00:00+00:00",
                "thumbs": 1,
            },
            {
                "feedback_id": "f2",
                "interaction_id": "i2",
                "use_case": "support",
                "feedback_time": f"{DAY.isoformat()}T12:00:00+00:00",
                "thumbs": -1,
            },
            {
                "feedback_id": "f3",
                "interaction_id": "i3",
                "use_case": "support",
                "feedback_time": f"{DAY.isoformat()}T12:00:00+00:00",
                "rating": 5,
            },
        ],
    )
    monitoring_tables.insert(
        "ingestion_events",
        [
            {
                "event_id": f"e{n}",
                "event_type": "finalized",
                "event_time": f"{DAY.isoformat()}T09:00:00+00:00",
                "bucket": "docs",
                "object": f"doc{n}.md",
                "generation": n,
                "status": status,
                "use_case": "support",
                "chunk_count": chunks,
                "bytes": 1000,
                "total_ms": 50.0 * n,
                "guardrails": guards,
                "pii_findings": [],
                "embedding_model": "all-MiniLM-L6-v2",
            }
            for n, status, chunks, guards in (
                (1, "done", 4, []),
                (2, "done", 6, ["prompt_injection"]),
                (3, "failed", None, []),
            )
        ],
    )
    return monitoring_tables


def _by_version(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["template_version"]: row for row in rows}


def _view(tables: BigQueryTableStore, name: str) -> list[dict[str, Any]]:
    return tables.query(f"SELECT * FROM {{dataset}}.{name}")


def test_feedback_daily_counts_positive_and_negative(
    seeded: BigQueryTableStore,
) -> None:
    """Thumbs up and a 5 rating count positive, thumbs down negative, per group."""
    (row,) = _view(seeded, "feedback_daily")
    assert (row["day"], row["template_version"], row["model_name"]) == (
        DAY,
        1,
        "gemini-2.0-flash",
    )
    assert (row["positive"], row["negative"], row["feedback_count"]) == (2, 1, 3)


def test_response_length_daily_averages_output_characters(
    seeded: BigQueryTableStore,
) -> None:
    """Mean and max response characters per template version and model."""
    rows = _by_version(_view(seeded, "response_length_daily"))
    assert rows[1]["interactions"] == 3
    assert rows[1]["avg_output_chars"] == pytest.approx(20.0)
    assert rows[1]["max_output_chars"] == 30
    assert rows[2]["avg_output_chars"] == pytest.approx(200.0)
    assert rows[2]["avg_output_tokens"] == pytest.approx(50.0)


def test_conversation_turns_counts_turns_per_conversation(
    seeded: BigQueryTableStore,
) -> None:
    """c1 has two turns and c2 one under version 1; c3 has two under version 2."""
    rows = _by_version(_view(seeded, "conversation_turns"))
    assert (rows[1]["conversations"], rows[1]["max_turns"]) == (2, 2)
    assert rows[1]["avg_turns"] == pytest.approx(1.5)
    assert (rows[2]["conversations"], rows[2]["avg_turns"]) == (1, 2)


def test_conversation_turns_reads_turn_numbers_and_the_first_turns_version(
    monitoring_tables: BigQueryTableStore,
) -> None:
    """A conversation logged from turn 3 has 3 turns; one that spans a promotion
    counts once, under the version it started with."""
    monitoring_tables.insert(
        "interactions",
        [
            _interaction(1, conversation_id="late", turn=3),
            _interaction(2, conversation_id="spans", turn=1),
            _interaction(3, conversation_id="spans", turn=2, template_version=2),
        ],
    )
    rows = _view(monitoring_tables, "conversation_turns")
    assert [(r["template_version"], r["conversations"]) for r in rows] == [(1, 2)]
    assert rows[0]["max_turns"] == 3
    assert rows[0]["avg_turns"] == pytest.approx(2.5)


def test_prompt_sentiment_daily_splits_at_vader_cutoffs(
    seeded: BigQueryTableStore,
) -> None:
    """One positive, one negative and one neutral prompt; the mean is their average."""
    row = _by_version(_view(seeded, "prompt_sentiment_daily"))[1]
    assert (row["positive"], row["negative"], row["neutral"], row["scored"]) == (
        1,
        1,
        1,
        3,
    )
    assert row["avg_sentiment"] == pytest.approx(-0.1 / 3)


def test_safety_attributes_daily_counts_triggered_and_blocked(
    seeded: BigQueryTableStore,
) -> None:
    """A blocked HIGH rating triggers; a LOW unblocked one is only rated."""
    (row,) = _view(seeded, "safety_attributes_daily")
    assert row["category"] == "HARM_CATEGORY_HARASSMENT"
    assert (row["rated"], row["triggered"], row["blocked"]) == (2, 1, 1)
    assert row["max_score"] == pytest.approx(0.9)


def test_guardrails_daily_counts_each_guardrail_by_source(
    seeded: BigQueryTableStore,
) -> None:
    """pii twice and prompt_injection once on interactions; one on ingestion."""
    rows = {
        (r["source"], r["guardrail"]): r["raised"]
        for r in _view(seeded, "guardrails_daily")
    }
    assert rows == {
        ("interaction", "pii"): 2,
        ("interaction", "prompt_injection"): 1,
        ("ingestion", "prompt_injection"): 1,
    }


def test_latency_daily_gives_exact_percentiles(seeded: BigQueryTableStore) -> None:
    """p50 of 100/200/300 ms is 200; p95 interpolates to 290; 1000/3000 gives 2000."""
    rows = _by_version(_view(seeded, "latency_daily"))
    assert rows[1]["calls"] == 3
    assert rows[1]["p50_ms"] == pytest.approx(200.0)
    assert rows[1]["p95_ms"] == pytest.approx(290.0)
    assert rows[1]["max_ms"] == pytest.approx(300.0)
    assert rows[2]["p50_ms"] == pytest.approx(2000.0)
    assert rows[2]["p99_ms"] == pytest.approx(2980.0)


def test_usage_daily_sums_and_estimates_missing_tokens(
    seeded: BigQueryTableStore,
) -> None:
    """Reported tokens are summed; a row without counts gets characters / 4."""
    rows = _by_version(_view(seeded, "usage_daily"))
    assert (rows[1]["input_chars"], rows[1]["output_chars"]) == (128, 60)
    # 10 + 20 reported, 8 characters / 4 = 2 estimated; 3 + 5 + ceil(30 / 4) = 16.
    assert (rows[1]["input_tokens"], rows[1]["output_tokens"]) == (32, 16)
    assert rows[1]["estimated_token_rows"] == 1


def test_usage_cost_applies_the_price_table(seeded: BigQueryTableStore) -> None:
    """Cost is tokens times the configured price; an unpriced model gets none."""
    prices = PriceTable({"gemini-2.0-flash": (1000.0, 2000.0)}, "test prices")
    rows = _by_version(usage_cost(seeded, prices, DAY))
    assert rows[1]["priced"] is True
    assert rows[1]["estimated_cost_usd"] == pytest.approx(
        32 / 1e6 * 1000 + 16 / 1e6 * 2000
    )
    assert rows[2]["priced"] is False
    assert rows[2]["estimated_cost_usd"] is None
    assert usage_cost(seeded, prices, DAY + dt.timedelta(days=1)) == []


def test_ingestion_health_counts_by_status(seeded: BigQueryTableStore) -> None:
    """Two done events with ten chunks and one failed, for the use case."""
    rows = {r["status"]: r for r in _view(seeded, "ingestion_health")}
    assert (rows["done"]["events"], rows["done"]["chunks"]) == (2, 10)
    assert rows["done"]["avg_total_ms"] == pytest.approx(75.0)
    assert rows["failed"]["events"] == 1
    assert rows["done"]["use_case"] == "support"
