"""A seeded feedback table: interactions and feedback rows of one use case.

Each prompt is built to exercise one branch of the export rule, and a few
rows are malformed on purpose. ``EXPECTED`` says what the rule must make of
them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

USE_CASE = "support"
MODEL = "gemini-2.5-flash"
TEMPLATE = "answer"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _interaction(n: int, prompt: str | None, response: str | None) -> dict[str, Any]:
    return {
        "interaction_id": f"i{n}",
        "request_time": (START + timedelta(minutes=n)).isoformat(),
        "use_case": USE_CASE,
        "template_name": TEMPLATE,
        "template_version": 1,
        "model_name": MODEL,
        "prompt": prompt,
        "response": response,
        "blocked": False,
        "guardrails": [],
    }


def _feedback(n: int, interaction: int, **fields: Any) -> dict[str, Any]:
    return {
        "feedback_id": f"f{n}",
        "interaction_id": f"i{interaction}",
        "feedback_time": (START + timedelta(hours=1, minutes=n)).isoformat(),
        "use_case": USE_CASE,
        **fields,
    }


def rows(copies: int = 1) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(interactions, feedback); ``copies`` repeats the set with new prompts."""
    interactions: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    for c in range(copies):
        base = c * 100
        p = f" (case {c})" if copies > 1 else ""
        pairs = [
            # 0: an explicit choice, b preferred.
            (f"How do I reset my password?{p}", "Use the reset link.", None),
            # 1, 2: two answers to one prompt, rated 5 and 1 -> a rating pair.
            (f"What are your opening hours?{p}", "We open 9 to 5.", None),
            (f"What are your opening hours?{p}", "No idea.", None),
            # 3: a correction.
            (f"Where is my order?{p}", "It shipped.", None),
            # 4, 5: ratings 4 and 3, too close to pair; 4 is accepted for SFT.
            (f"Do you ship abroad?{p}", "Yes, to 30 countries.", None),
            (f"Do you ship abroad?{p}", "Sometimes.", None),
            # 6: thumbs up, accepted for SFT, nothing to pair with.
            (f"Can I pay by card?{p}", "Yes, all major cards.", None),
            # 7: metrics-only interaction, no prompt: malformed for export.
            (None, None, None),
        ]
        for i, (prompt, response, _) in enumerate(pairs):
            interactions.append(_interaction(base + i, prompt, response))
        feedback += [
            _feedback(
                base + 0,
                base + 0,
                candidate_a="Use the reset link.",
                candidate_b="Open Settings, choose Security, then Reset password.",
                preferred="b",
            ),
            _feedback(base + 1, base + 1, rating=5),
            _feedback(base + 2, base + 2, rating=1),
            _feedback(
                base + 3,
                base + 3,
                thumbs=-1,
                corrected_response="It ships tomorrow; tracking follows by mail.",
            ),
            _feedback(base + 4, base + 4, rating=4),
            _feedback(base + 5, base + 5, rating=3),
            _feedback(base + 6, base + 6, thumbs=1),
            _feedback(base + 7, base + 7, thumbs=1),
            # Malformed: preferred is neither a nor b.
            _feedback(
                base + 8, base + 0, candidate_a="x", candidate_b="y", preferred="c"
            ),
            # Malformed: a rating off the 1 to 5 scale.
            _feedback(base + 9, base + 1, rating=9),
        ]
    return interactions, feedback


# What the export rule makes of one copy of the rows.
EXPECTED = {
    "pairs": 3,  # explicit, correction, rating
    "pair_dropped": {
        "missing_prompt": 1,
        "preferred_not_a_or_b": 1,
        "rating_out_of_range": 1,
    },
    # The correction, and the answers rated 5, rated 4 and thumbed up.
    "examples": 4,
    "example_dropped": {
        "missing_prompt": 1,
        "rating_out_of_range": 1,
        "not_accepted": 4,
    },
}
