"""Data protection end to end, on a local platform started with redaction on.

A document seeded with every offline info type's valid values and near-misses
is uploaded to the storage emulator; the real function ingests it. Then every
place the platform keeps text is read back: the chunk files, the Milvus
collection, every monitoring table, the platform's logs and the relay's
dead-letter file, and search results. Interactions and feedback logged with
the platform's redactor are checked the same way. The policy pack is checked
on a stack that classifies its data confidential without turning redaction on.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from pymilvus import MilvusClient
from test_protection_offline import NEAR_MISSES, VALID

from llmops import contract as c
from llmops import plan, runtime
from llmops.chunk_store import ChunkStore, StoredChunk, document_key
from llmops.local import LocalPlatform
from llmops.monitoring import InteractionLogger
from llmops.monitoring.pseudonyms import LOCAL_DEAD_LETTER_FILE
from llmops.protection import OfflineRedactor
from llmops.settings import Settings

REPO = Path(__file__).resolve().parents[2]
TOPIC = (
    "The harbour office keeps a register of berth holders. Each record lists "
    "how the holder can be reached and how the berth fee is paid."
)
PII_RULE = "governance-pii-redaction"


def _written(info_type: str, value: str) -> str:
    if info_type == "URL_CREDENTIALS":
        return f"https://{value}@db.internal.example.com:5432/app"
    return value


def seeded_document() -> str:
    """The register: ordinary text, each valid value once, each near-miss once."""
    lines = [TOPIC, ""]
    lines += [f"Record {n}: {miss} was on file." for n, miss in enumerate(NEAR_MISSES)]
    for info_type, values in VALID.items():
        for value in values:
            lines.append(
                f"The {info_type.lower()} given was {_written(info_type, value)}, "
                "as stated."
            )
    return "\n".join(lines) + "\n"


EXPECTED = {info_type: len(values) for info_type, values in VALID.items()}
VALUES = [value for values in VALID.values() for value in values]


def leaks(text: str) -> list[str]:
    """The valid values found in ``text``, as written or without separators."""
    found = []
    for value in VALUES:
        compact = re.sub(r"[\s.\-()]", "", value)
        alone = rf"(?<![0-9A-Za-z]){re.escape(compact)}(?![0-9A-Za-z])"
        if value in text or (len(compact) >= 9 and re.search(alone, text)):
            found.append(value)
    return found


@dataclass
class Stores:
    """One running platform's stores, as the tests read them."""

    platform: LocalPlatform
    settings: Settings
    objects: Any
    tables: Any
    chunks: ChunkStore

    def upload(self, name: str, text: str) -> int:
        return self.objects.write(
            self.settings.docs_bucket, name, text.encode(), content_type="text/plain"
        )

    def outcome(self, name: str, generation: int) -> dict[str, Any]:
        """Wait for the final ingestion row of one generation and return it."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows = self.tables.query(
                f"SELECT status, reason, chunk_count, pii_findings, guardrails FROM "
                f"{{dataset}}.{c.TABLE_INGESTION_EVENTS} WHERE object = @name AND "
                "generation = @generation AND event_type = 'finalized'",
                {"name": name, "generation": generation},
            )
            final = [r for r in rows if r["status"] in ("done", "failed", "skipped")]
            if final:
                return final[0]
            time.sleep(0.25)
        raise AssertionError(f"no ingestion row for {name}#{generation}")

    def stored_chunks(self, name: str, generation: int) -> list[StoredChunk]:
        key = document_key(self.settings.docs_bucket, name)
        return self.chunks.read_chunks(key, generation)


def _stores(platform: LocalPlatform, patch: pytest.MonkeyPatch) -> Stores:
    env = platform.env()
    patch.setenv(c.ENV_STORAGE_EMULATOR_HOST, env[c.ENV_STORAGE_EMULATOR_HOST])
    settings = platform.settings()
    objects = runtime.object_store(settings)
    return Stores(
        platform=platform,
        settings=settings,
        objects=objects,
        tables=runtime.table_store(settings),
        chunks=ChunkStore(objects, settings.chunks_bucket),
    )


@dataclass
class Seeded:
    """The seeded document as the redacting platform ingested it, and the ids
    of the interaction and feedback logged about it."""

    stores: Stores
    name: str
    generation: int
    row: dict[str, Any]
    interaction: str
    rejected: str
    feedback: str


@pytest.fixture(scope="module")
def seeded(
    start_local_platform: Callable[..., LocalPlatform],
) -> Iterator[Seeded]:
    """A platform with LLMOPS_PII_REDACTION on, the seeded document ingested,
    and interactions logged through the platform's own redactor."""
    platform = start_local_platform(extra_env={c.ENV_PII_REDACTION: "true"})
    with pytest.MonkeyPatch.context() as patch:
        stores = _stores(platform, patch)
        name = f"protect-{uuid.uuid4().hex[:8]}/register.txt"
        generation = stores.upload(name, seeded_document())
        row = stores.outcome(name, generation)

        # The logger gets what the function gets: the settings' redactor.
        redacting = replace(stores.settings, pii_redaction=True)
        redactor, detector = runtime.protection(redacting)
        assert isinstance(redactor, OfflineRedactor)
        hits = runtime.build_retriever(stores.settings).search(
            "how is the berth fee paid, card or IBAN?", k=3
        )
        with InteractionLogger(
            stores.tables,
            use_case="support",
            pseudonym_key=b"protection-end-to-end-key",
            dead_letter_path=platform.state.root / LOCAL_DEAD_LETTER_FILE,
            redactor=redactor,
            detector=detector,
        ) as log:
            interaction = log.log_interaction(
                prompt=seeded_document() + "\n".join(h.chunk.text for h in hits),
                response=seeded_document(),
                model_name="gemini-2.0-flash",
                user_input=seeded_document(),
                retrieved_chunk_ids=[h.chunk.id for h in hits],
                user_id="alice.smith@example.com",
            )
            # The table refuses this one (model_version takes strings): it goes
            # to the dead-letter file, which must hold no raw value either.
            rejected = log.log_interaction(
                prompt=seeded_document(),
                response=seeded_document(),
                model_name="gemini-2.0-flash",
                model_version=12345,  # type: ignore[arg-type]
            )
            feedback = log.log_feedback(
                interaction,
                comment=seeded_document(),
                corrected_response=seeded_document(),
                candidate_a=seeded_document(),
                candidate_b=seeded_document(),
                preferred="b",
            )
        assert [r.row["interaction_id"] for r in log.rejected] == [rejected]
        yield Seeded(stores, name, generation, row, interaction, rejected, feedback)
    platform.stop()


def test_seeded_document_carries_every_value() -> None:
    """The seeded document holds every valid value, so the leak checks can fail."""
    assert sorted(leaks(seeded_document())) == sorted(VALUES)


def test_ingestion_row_counts_each_info_type(seeded: Seeded) -> None:
    """The ingestion-events row records the count per info type, not the values."""
    assert seeded.row["status"] == "done" and seeded.row["chunk_count"] >= 1
    counts = {f["info_type"]: f["count"] for f in seeded.row["pii_findings"]}
    assert counts == EXPECTED


def test_chunk_store_holds_no_valid_value(seeded: Seeded) -> None:
    """No chunk file or manifest in the chunks bucket holds a valid value."""
    stores = seeded.stores
    bucket = stores.settings.chunks_bucket
    paths = stores.objects.list(bucket, "")
    key = document_key(stores.settings.docs_bucket, seeded.name)
    assert f"chunks/{key}/{seeded.generation}.jsonl" in paths
    text = "\n".join(stores.objects.read(bucket, p).data.decode() for p in paths)
    assert leaks(text) == []
    assert "[CREDIT_CARD_NUMBER]" in text and "[EMAIL_ADDRESS]" in text


def test_near_misses_stay_in_the_chunk_text(seeded: Seeded) -> None:
    """Every near-miss is still in the chunks, written as it was."""
    chunks = seeded.stores.stored_chunks(seeded.name, seeded.generation)
    text = "\n".join(chunk.text for chunk in chunks)
    assert [miss for miss in NEAR_MISSES if miss not in text] == []
    assert TOPIC.split(".")[0] in text


def test_milvus_fields_hold_no_valid_value(seeded: Seeded) -> None:
    """No scalar field of the document's datapoints holds a valid value."""
    settings = seeded.stores.settings
    key = document_key(settings.docs_bucket, seeded.name)
    client = MilvusClient(uri=settings.milvus_uri or "")
    try:
        fields = ["id", *c.RESTRICT_NAMESPACES]
        rows = client.query(
            settings.milvus_collection,
            filter=f"id like {json.dumps(key + '%')}",
            output_fields=fields,
        )
    finally:
        client.close()
    assert len(rows) == seeded.row["chunk_count"]
    assert all(set(fields) <= set(r) for r in rows)
    assert leaks(json.dumps(rows, ensure_ascii=False)) == []


def test_monitoring_tables_hold_no_valid_value(seeded: Seeded) -> None:
    """Every row of every monitoring table, all columns, holds no valid value."""
    dumped = {}
    for table in c.TABLES:
        rows = seeded.stores.tables.query(f"SELECT * FROM {{dataset}}.{table}")
        dumped[table] = json.dumps(rows, ensure_ascii=False, default=str)
        assert leaks(dumped[table]) == [], table
    assert seeded.interaction in dumped[c.TABLE_INTERACTIONS]
    assert seeded.feedback in dumped[c.TABLE_FEEDBACK]
    assert seeded.name in dumped[c.TABLE_INGESTION_EVENTS]


def test_logged_rows_are_redacted_and_flagged(seeded: Seeded) -> None:
    """The interaction and feedback rows keep redacted text and the flag."""
    tables = seeded.stores.tables
    (row,) = tables.query(
        f"SELECT prompt, response, guardrails, input_chars FROM "
        f"{{dataset}}.{c.TABLE_INTERACTIONS} WHERE interaction_id = @id",
        {"id": seeded.interaction},
    )
    assert "[IBAN_CODE]" in row["prompt"] and "[PHONE_NUMBER]" in row["response"]
    assert "pii_redacted" in row["guardrails"]
    assert row["input_chars"] > len(seeded_document())
    (feedback,) = tables.query(
        f"SELECT comment, candidate_a, candidate_b, corrected_response FROM "
        f"{{dataset}}.{c.TABLE_FEEDBACK} WHERE feedback_id = @id",
        {"id": seeded.feedback},
    )
    for text in feedback.values():
        assert "[US_SOCIAL_SECURITY_NUMBER]" in text and leaks(text) == []
        assert [miss for miss in NEAR_MISSES if miss not in text] == []


def test_logs_and_dead_letter_files_hold_no_valid_value(seeded: Seeded) -> None:
    """The platform's logs, the relay's and the logger's dead-letter files are
    free of valid values; the logger's holds the rejected row, redacted."""
    root = seeded.stores.platform.state.root
    state = seeded.stores.platform.state
    logs = sorted(state.logs.glob("*.log"))
    assert {"function-finalized.log", "supervisor.log"} <= {p.name for p in logs}
    # The function's log is the one that saw the document.
    assert seeded.name in (state.logs / "function-finalized.log").read_text()
    for path in [*logs, state.relay_log]:
        assert leaks(path.read_text(errors="replace")) == [], path.name
    relay = seeded.stores.platform.dead_letter_file
    assert leaks(relay.read_text() if relay.exists() else "") == []
    lines = (root / LOCAL_DEAD_LETTER_FILE).read_text().splitlines()
    (entry,) = [json.loads(line) for line in lines]
    assert entry["row"]["interaction_id"] == seeded.rejected
    assert "[ITALY_FISCAL_CODE]" in entry["row"]["prompt"]
    assert leaks("\n".join(lines)) == []


def test_search_results_hold_no_valid_value(seeded: Seeded) -> None:
    """Searching for the values, or for what they are, returns redacted text."""
    retriever = runtime.build_retriever(seeded.stores.settings)
    queries = [
        "which e-mail address and phone number were given?",
        "credit card number and IBAN of the berth holder",
        "social security number, fiscal code, DNI, CPF, NIR",
        # One value of each type, as a searcher who knows it would ask.
        *(values[0] for values in VALID.values()),
    ]
    returned = 0
    for query in queries:
        for hit in retriever.search(query, k=5):
            if hit.chunk.object == seeded.name:
                returned += 1
                assert leaks(hit.chunk.text) == [], query
    assert returned >= len(queries)


def test_with_redaction_off_the_text_is_unchanged(
    local_platform: LocalPlatform,
) -> None:
    """On the session platform (redaction off) the chunks keep every value."""
    with pytest.MonkeyPatch.context() as patch:
        stores = _stores(local_platform, patch)
        assert not stores.settings.pii_redaction
        name = f"protect-{uuid.uuid4().hex[:8]}/register.txt"
        document = seeded_document()
        generation = stores.upload(name, document)
        row = stores.outcome(name, generation)
        chunks = stores.stored_chunks(name, generation)
    assert row["status"] == "done" and row["pii_findings"] == []
    text = "\n".join(chunk.text for chunk in chunks)
    assert sorted(leaks(text)) == sorted(VALUES)
    for line in document.splitlines():
        assert line in text


# -- The policy pack -----------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the program, package, function and pack, with a Pulumi.yaml."""
    root = tmp_path_factory.mktemp("project")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("infra", "llmops", "functions/ingest", "policies"):
        shutil.copytree(REPO / part, root / part, ignore=skip)
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    return root


def _stack(project: Path, name: str, **overrides: str) -> Path:
    doc = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    doc["config"].update({f"llmops:{k}": v for k, v in overrides.items()})
    path = project / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _verdict(stack: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The ingestion function's environment and the PII rule's violations."""
    captured = plan.capture(stack)
    functions = captured.of_type("gcp:cloudfunctionsv2/function:Function")
    envs = [
        f.inputs["serviceConfig"]["environmentVariables"]
        for f in functions
        if c.ENV_DOCS_BUCKET in f.inputs["serviceConfig"]["environmentVariables"]
    ]
    assert envs, "the plan has no ingestion function"
    (rule,) = [
        v for v in plan.evaluate_policies(captured, stack) if v["name"] == PII_RULE
    ]
    assert rule["enforcement"] == "mandatory"
    return envs[0], rule["violations"]


def test_confidential_classification_turns_redaction_on(project: Path) -> None:
    """A confidential stack redacts even with piiRedaction false, and passes."""
    stack = _stack(
        project, "confidential", dataClassification="confidential", piiRedaction=False
    )
    env, violations = _verdict(stack)
    assert env[c.ENV_PII_REDACTION] == "true"
    assert env[c.ENV_DATA_CLASSIFICATION] == "confidential"
    assert Settings.from_env(env).pii_redaction
    assert violations == []


def test_function_without_redaction_on_confidential_data_is_flagged(
    project: Path,
) -> None:
    """Functions that would ingest confidential data unredacted are flagged."""
    stack = _stack(
        project, "confidential", dataClassification="confidential", piiRedaction=True
    )
    captured = plan.capture(stack)
    resources = captured.to_json()["resources"]
    for resource in resources:
        env = (
            resource["inputs"].get("serviceConfig", {}).get("environmentVariables", {})
        )
        if c.ENV_PII_REDACTION in env:
            env[c.ENV_PII_REDACTION] = "false"
    evaluate = importlib.import_module("policies.evaluate")
    config = evaluate.stack_policy_config(plan.stack_config(stack))
    (rule,) = [v for v in evaluate.evaluate(resources, config) if v["name"] == PII_RULE]
    assert rule["violations"]
    assert all(
        "confidential data without PII redaction" in v["message"]
        for v in rule["violations"]
    )


def test_redacting_stack_passes_the_rule(project: Path) -> None:
    """The same confidential stack with piiRedaction on passes the rule."""
    stack = _stack(
        project, "redacting", dataClassification="confidential", piiRedaction=True
    )
    env, violations = _verdict(stack)
    assert env[c.ENV_PII_REDACTION] == "true" and violations == []


def test_internal_stack_without_redaction_passes_the_rule(project: Path) -> None:
    """An internal stack does not need redaction: the rule has nothing to say."""
    stack = _stack(project, "internal", dataClassification="internal")
    env, violations = _verdict(stack)
    assert env[c.ENV_DATA_CLASSIFICATION] == "internal" and violations == []
