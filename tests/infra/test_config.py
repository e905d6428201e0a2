"""Stack configuration: typed, validated, with presets and clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.config import KEYS, PRESETS, StackConfigError, load

MINIMAL = {
    "gcp:project": "acme-llmops-dev",
    "gcp:region": "us-central1",
    "llmops:environment": "dev",
}


def _problems(values: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(StackConfigError) as raised:
        load(values, "dev")
    return raised.value.problems


def test_missing_required_keys_are_all_reported_with_their_fix() -> None:
    """An empty stack file names project, region and environment at once, each
    with the `pulumi config set` command that fixes it."""
    problems = _problems({})
    for key in ("gcp:project", "gcp:region", "llmops:environment"):
        (line,) = [p for p in problems if p.startswith(key)]
        assert f"pulumi config set {key} " in line


def test_every_reported_problem_names_a_key_and_a_command() -> None:
    """Several bad values give one error whose every line has key and fix."""
    problems = _problems(
        {
            **MINIMAL,
            "llmops:functionTimeoutSeconds": "900",
            "llmops:indexMachineType": "n1-standard-1",
            "llmops:useCases": '["Support Bot"]',
            "llmops:embeddingModel": "all-MiniLM-L6-v2",
        }
    )
    assert len(problems) == 4
    for line in problems:
        key = line.split(":", 2)[0] + ":" + line.split(":", 2)[1]
        assert key in KEYS, line
        assert "`pulumi config set " in line
    assert any("between 1 and 540" in p for p in problems)


def test_an_unknown_key_is_refused_with_the_nearest_known_one() -> None:
    """A misspelt key is not silently ignored."""
    (problem,) = _problems({**MINIMAL, "llmops:embedingModel": "text-embedding-005"})
    assert "llmops:embedingModel" in problem
    assert "did you mean llmops:embeddingModel?" in problem
    assert "pulumi config rm llmops:embedingModel" in problem


def test_public_principals_are_well_formed_and_left_to_the_policy_pack() -> None:
    """allUsers and allAuthenticatedUsers load (the policy pack judges them);
    a member without a known kind is still refused."""
    config = load(
        {**MINIMAL, "llmops:promptReaders": '["allUsers", "group:a@example.com"]'},
        "dev",
    )
    assert config.prompt_readers == ("allUsers", "group:a@example.com")
    problems = _problems(
        {**MINIMAL, "llmops:docsUploaders": '["allUsers:x", "someone@example.com"]'}
    )
    assert len(problems) == 2
    assert all(p.startswith("llmops:docsUploaders") for p in problems)
    assert "'someone@example.com' must start with one of user:" in problems[1]


def test_zero_retention_means_no_partition_expiration() -> None:
    """0 days is accepted for both retentions; below 0 is refused."""
    config = load({**MINIMAL, "llmops:contentRetentionDays": "0"}, "dev")
    assert (config.retention_days, config.content_retention_days) == (30, 0)
    config = load({**MINIMAL, "llmops:retentionDays": "0"}, "dev")
    assert (config.retention_days, config.content_retention_days) == (0, 30)
    (problem,) = _problems({**MINIMAL, "llmops:retentionDays": "-1"})
    assert "between 0 and 3650" in problem


def test_project_roles_map_well_formed_roles_to_members() -> None:
    """projectRoles takes predefined and project custom roles, any well-formed
    member (primitive roles too: the policy pack reports them), and refuses a
    malformed role or an empty member list."""
    config = load(
        {
            **MINIMAL,
            "llmops:projectRoles": (
                '{"roles/aiplatform.user": ["group:ops@example.com"], '
                '"projects/acme-llmops-dev/roles/llmopsViewer": ["user:a@example.com"],'
                ' "roles/owner": ["user:b@example.com"]}'
            ),
        },
        "dev",
    )
    assert config.project_roles == {
        "projects/acme-llmops-dev/roles/llmopsViewer": ("user:a@example.com",),
        "roles/aiplatform.user": ("group:ops@example.com",),
        "roles/owner": ("user:b@example.com",),
    }
    problems = _problems(
        {
            **MINIMAL,
            "llmops:projectRoles": '{"owner": ["user:a@example.com"], '
            '"roles/logging.viewer": []}',
        }
    )
    assert len(problems) == 2
    bad_role, empty = problems
    assert "role 'owner' must be roles/NAME or projects/PROJECT/roles/NAME" in bad_role
    assert "must map to a non-empty list" in empty
    assert "pulumi config set llmops:projectRoles" in empty


def test_content_cannot_outlive_the_rows_around_it() -> None:
    """Content retention above the partition retention is refused."""
    (problem,) = _problems(
        {**MINIMAL, "llmops:retentionDays": "30", "llmops:contentRetentionDays": "90"}
    )
    assert problem.startswith("llmops:contentRetentionDays")


def test_a_fixed_size_model_refuses_another_dimension() -> None:
    """Dimensions must be what the model gives (or fewer, if it can reduce)."""
    config = load({**MINIMAL, "llmops:embeddingDimensions": "256"}, "dev")
    assert config.embedding_dimensions == 256
    problems = _problems({**MINIMAL, "llmops:embeddingDimensions": "1024"})
    assert any("between 1 and 768" in p for p in problems)


def test_presets_make_dev_destroyable_and_prod_protected() -> None:
    """Environment picks the protection and serving defaults."""
    dev = load(MINIMAL, "dev")
    prod = load({**MINIMAL, "llmops:environment": "prod"}, "prod")
    assert (dev.protect, prod.protect) == (False, True)
    assert prod.index_min_replicas == PRESETS["prod"].index_min_replicas > 1
    assert dev.retention_days < prod.retention_days


def test_use_cases_accept_names_or_objects_and_pick_the_default() -> None:
    """Use cases may be listed by name or as objects; the first is the default."""
    config = load(
        {**MINIMAL, "llmops:useCases": '[{"name": "support"}, "faq-bot"]'}, "dev"
    )
    assert [u.name for u in config.use_cases] == ["faq-bot", "support"]
    assert config.default_use_case == "faq-bot"
    problems = _problems(
        {**MINIMAL, "llmops:useCases": '["support"]', "llmops:defaultUseCase": "sales"}
    )
    assert problems[0].startswith("llmops:defaultUseCase")


def test_labels_are_validated_and_cannot_override_the_platforms() -> None:
    """User labels are checked against GCP rules and never replace required ones."""
    config = load({**MINIMAL, "llmops:labels": '{"team": "ml"}'}, "dev")
    assert config.labels("ingestion")["team"] == "ml"
    assert config.labels("ingestion")["component"] == "ingestion"
    problems = _problems(
        {**MINIMAL, "llmops:labels": '{"environment": "x", "Bad": "y"}'}
    )
    assert len(problems) == 2


def test_the_example_stack_files_are_valid(stack_values: Any) -> None:
    """Both example stacks load without a problem."""
    assert load(stack_values["dev"], "dev").environment == "dev"
    assert load(stack_values["prod"], "prod").protect is True


def test_the_platform_guide_documents_every_stack_key() -> None:
    """docs/platform.md has a reference-table row for each key the program reads."""
    guide = (Path(__file__).parents[2] / "docs" / "platform.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`")
        for line in guide.splitlines()
        if line.startswith("| `")
    }
    assert set(KEYS) <= rows
