"""The prompt registry on the storage emulator: versions, labels, events, the SDK."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from llmops import prompts
from llmops.backends.base import ObjectStore, StoredObject
from llmops.backends.bigquery import BigQueryTableStore
from llmops.backends.gcs import GcsObjectStore
from llmops.errors import (
    ConfigError,
    CorruptObjectError,
    InputError,
    NotFoundError,
    TransientError,
)
from llmops.local import LocalPlatform
from llmops.prompts import PromptClient, PromptRegistry, parse_template
from llmops.prompts.template import PromptTemplate


def _template(
    text: str = "Answer {{ question }} from {{ passages }}.", **extra: Any
) -> PromptTemplate:
    doc: dict[str, Any] = {
        "name": "answer",
        "model": {"name": "gemini-2.0-flash", "parameters": {"temperature": 0.2}},
        "variables": {"question": "the question", "passages": "retrieved text"},
        "template": text,
    }
    doc.update(extra)
    return parse_template(doc)


def _events(tables: BigQueryTableStore) -> list[dict[str, Any]]:
    return tables.query(
        "SELECT action, template_name, version, label, previous_version, author "
        "FROM {dataset}.prompt_registry_events ORDER BY event_time"
    )


@pytest.fixture
def registry(
    local_object_store: GcsObjectStore,
    registry_bucket: str,
    local_tables: BigQueryTableStore,
) -> PromptRegistry:
    """A registry in a fresh versioned bucket, recording events in fresh tables."""
    return PromptRegistry(local_object_store, registry_bucket, events=local_tables)


def test_concurrent_pushes_yield_distinct_versions_none_lost(
    registry: PromptRegistry,
) -> None:
    """Eight racing pushes of different content get versions 1 to 8, none lost."""
    texts = [
        f"Variant {n}: answer {{{{ question }}}} from {{{{ passages }}}}."
        for n in range(8)
    ]
    barrier = threading.Barrier(len(texts))

    def push(text: str) -> int:
        barrier.wait()
        return registry.push(_template(text), author="ci").version

    with ThreadPoolExecutor(len(texts)) as pool:
        versions = list(pool.map(push, texts))

    assert sorted(versions) == list(range(1, 9))
    stored = {registry.version("answer", n).template.template for n in range(1, 9)}
    assert stored == set(texts)
    assert registry.version_numbers("answer") == list(range(1, 9))


def test_unchanged_push_creates_no_version(
    registry: PromptRegistry, local_tables: BigQueryTableStore
) -> None:
    """Pushing the same content again returns the same version and records nothing."""
    first = registry.push(_template(), author="ana", message="first")
    again = registry.push(_template(), author="ana", message="again")
    changed = registry.push(
        _template("Reply to {{ question }} with {{ passages }}."), author="ana"
    )

    assert (first.created, first.version) == (True, 1)
    assert (again.created, again.version) == (False, 1)
    assert (changed.created, changed.version) == (True, 2)
    assert registry.version_numbers("answer") == [1, 2]
    stored = registry.version("answer", 1)
    assert (stored.author, stored.message, stored.content_hash) == (
        "ana",
        "first",
        first.content_hash,
    )
    assert [
        (e["action"], e["version"], e["previous_version"])
        for e in _events(local_tables)
    ] == [
        ("push", 1, None),
        ("push", 2, 1),
    ]


def test_label_moves_atomically_under_concurrent_promotions(
    registry: PromptRegistry,
) -> None:
    """Six promotions racing on one label are all applied, one after another."""
    for n in range(6):
        registry.push(
            _template(f"V{n} {{{{ question }}}} {{{{ passages }}}}"), author="ci"
        )
    barrier = threading.Barrier(6)

    def promote(version: int) -> None:
        barrier.wait()
        registry.promote("answer", version, "prod", author="ci")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(promote, range(1, 7)))

    state = registry.label_state("answer", "prod")
    assert state is not None
    assert sorted(state.stack) == list(range(1, 7))
    assert len(state.history) == 6
    assert state.version == state.stack[-1]
    assert registry.resolve("answer@prod").version == state.version


def test_promote_rollback_show_and_diff(
    registry: PromptRegistry, local_tables: BigQueryTableStore
) -> None:
    """Rollback returns a label to its previous version; every move is recorded."""
    registry.push(_template(), author="ana")
    registry.push(
        _template("Reply to {{ question }} with {{ passages }}."), author="ana"
    )
    registry.promote("answer", 1, "prod", author="ana")
    move = registry.promote("answer", 2, "prod", author="bo")
    assert (move.version, move.previous_version) == (2, 1)
    assert registry.resolve("answer@prod").version == 2

    back = registry.rollback("answer", "prod", author="bo", message="bad answers")
    assert (back.version, back.previous_version) == (1, 2)
    assert registry.resolve("answer@prod").version == 1
    assert registry.labels("answer") == {"prod": 1}
    with pytest.raises(InputError, match="no earlier version"):
        registry.rollback("answer", "prod", author="bo")

    diff = registry.diff("answer:1", "answer:2")
    assert "-template: Answer {{ question }}" in diff
    assert "+template: Reply to {{ question }}" in diff
    assert registry.diff("answer:1", "answer@prod") == ""
    actions = [
        (e["action"], e["label"], e["version"], e["previous_version"])
        for e in _events(local_tables)
    ]
    assert actions[2:] == [
        ("promote", "prod", 1, None),
        ("promote", "prod", 2, 1),
        ("rollback", "prod", 1, 2),
    ]


def test_unknown_label_and_version_are_not_found(registry: PromptRegistry) -> None:
    """Resolving a label never set, or a version never pushed, names what is missing."""
    registry.push(_template(), author="ana")
    with pytest.raises(NotFoundError, match="no label 'prod'"):
        registry.resolve("answer@prod")
    with pytest.raises(NotFoundError, match="no version 7"):
        registry.resolve("answer:7")


class _Switchable:
    """An ObjectStore that forwards to a live store, or to an unreachable one."""

    def __init__(self, live: ObjectStore, dead: ObjectStore) -> None:
        self.live, self.dead, self.down = live, dead, False

    def _store(self) -> ObjectStore:
        return self.dead if self.down else self.live

    def read(
        self, bucket: str, name: str, generation: int | None = None
    ) -> StoredObject:
        return self._store().read(bucket, name, generation)

    def write(self, bucket: str, name: str, data: bytes, **kwargs: Any) -> int:
        return self._store().write(bucket, name, data, **kwargs)

    def delete(self, bucket: str, name: str, **kwargs: Any) -> None:
        self._store().delete(bucket, name, **kwargs)

    def list(self, bucket: str, prefix: str = "") -> list[str]:
        return self._store().list(bucket, prefix)


@pytest.fixture
def unreachable_store() -> GcsObjectStore:
    """A store aimed at a loopback port nobody listens on, with a short retry budget."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return GcsObjectStore.for_emulator(
        f"http://127.0.0.1:{port}", retry_seconds=0.3, timeout_seconds=1.0
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_get_renders_and_names_a_missing_variable(registry: PromptRegistry) -> None:
    """get() serves the labelled version; rendering without a variable names it."""
    registry.push(_template(system="Be brief about {{ question }}."), author="ana")
    registry.promote("answer", 1, "prod", author="ana")
    prompt = PromptClient(registry).get("answer")

    rendered = prompt.render(question="Why?", passages="Because.")
    assert (prompt.version, prompt.source) == (1, "registry")
    assert rendered.text == "Answer Why? from Because.."
    assert rendered.system == "Be brief about Why?."
    with pytest.raises(InputError, match=r"missing variable.*passages"):
        prompt.render(question="Why?")
    with pytest.raises(InputError, match=r"unexpected variable.*tone"):
        prompt.render(question="Why?", passages="x", tone="warm")


def test_stale_cache_is_served_while_the_registry_is_down(
    local_object_store: GcsObjectStore,
    registry_bucket: str,
    local_tables: BigQueryTableStore,
    unreachable_store: GcsObjectStore,
) -> None:
    """Past its TTL the cached version is served at once; a failed refresh keeps it."""
    store = _Switchable(local_object_store, unreachable_store)
    writer = PromptRegistry(local_object_store, registry_bucket, events=local_tables)
    writer.push(_template(), author="ana")
    writer.promote("answer", 1, "prod", author="ana")
    clock = _Clock()
    client = PromptClient(
        PromptRegistry(store, registry_bucket), ttl_seconds=60, clock=clock
    )
    assert client.get("answer").source == "registry"
    assert client.get("answer").source == "cache"

    store.down = True
    clock.now += 61
    stale = client.get("answer")
    assert (stale.source, stale.version) == ("stale", 1)
    client.wait_for_refresh()
    assert client.get("answer").source == "stale"
    client.wait_for_refresh()

    # Back up: the next refresh picks up the label's new version.
    store.down = False
    writer.push(_template("New {{ question }} {{ passages }}"), author="ana")
    writer.promote("answer", 2, "prod", author="ana")
    client.get("answer")
    client.wait_for_refresh()
    fresh = client.get("answer")
    assert (fresh.source, fresh.version) == ("cache", 2)


def test_bundled_copy_is_served_when_the_registry_is_unreachable(
    unreachable_store: GcsObjectStore, tmp_path: Path
) -> None:
    """A template never fetched falls back to the bundled file, marked as such."""
    (tmp_path / "answer.yaml").write_text(_template().to_yaml())
    client = PromptClient(
        PromptRegistry(unreachable_store, "nowhere"), bundled_dir=tmp_path
    )
    prompt = client.get("answer")
    assert (prompt.source, prompt.version) == ("bundled", None)
    assert prompt.render(question="q", passages="p").text == "Answer q from p."
    with pytest.raises(TransientError, match="no bundled copy of 'other'"):
        client.get("other")


def test_one_invalid_bundled_file_leaves_the_others_in_service(
    unreachable_store: GcsObjectStore, tmp_path: Path
) -> None:
    """A broken bundled file is named when asked for; the valid ones still serve."""
    (tmp_path / "answer.yaml").write_text(_template().to_yaml())
    (tmp_path / "broken.yaml").write_text("name: broken\ntemplate: [unclosed\n")
    (tmp_path / "typed.yaml").write_text(
        "name: typed\nmodel: m\nvariables: [{a: 1}]\ntemplate: Hi {{ a }}\n"
    )
    client = PromptClient(
        PromptRegistry(unreachable_store, "nowhere"), bundled_dir=tmp_path
    )
    assert client.get("answer").source == "bundled"
    with pytest.raises(TransientError, match=r"2 file\(s\) are invalid:\n.*broken"):
        client.get("broken")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (b"{not json", "Expecting property name"),
        (b"[1, 2]", "JSON list, not an object"),
        (b'{"name": "answer"}', "missing field 'version'"),
    ],
)
def test_a_damaged_version_object_is_named_with_how_to_restore_it(
    registry: PromptRegistry,
    local_object_store: GcsObjectStore,
    registry_bucket: str,
    damage: bytes,
    reason: str,
) -> None:
    """Reading a version someone overwrote by hand names the object, not a trace."""
    registry.push(_template(), author="ana")
    path = "templates/answer/versions/00000001.json"
    local_object_store.write(registry_bucket, path, damage)
    with pytest.raises(CorruptObjectError) as caught:
        registry.version("answer", 1)
    message = str(caught.value)
    assert f"gs://{registry_bucket}/{path}" in message
    assert reason in message
    assert "gcloud storage ls -a" in message


def test_a_version_object_under_another_name_is_refused(
    registry: PromptRegistry,
    local_object_store: GcsObjectStore,
    registry_bucket: str,
) -> None:
    """A version copied to the wrong path does not pass for the one asked for."""
    registry.push(_template(), author="ana")
    registry.push(_template("Second {{ question }} {{ passages }}"), author="ana")
    first = local_object_store.read(
        registry_bucket, "templates/answer/versions/00000001.json"
    )
    local_object_store.write(
        registry_bucket, "templates/answer/versions/00000002.json", first.data
    )
    with pytest.raises(CorruptObjectError, match="says it is 'answer' version 1"):
        registry.version("answer", 2)


@pytest.mark.parametrize(
    "damage",
    [
        b'{"label": "prod"}',
        b'{"label": "prod", "version": 1, "stack": [1], "history": "abc"}',
        b'{"label": "prod", "version": 1, "stack": [1], "history": [1, 2]}',
        b'{"label": "prod", "version": 1, "stack": "12"}',
        b'{"label": "prod", "version": 2, "stack": [1]}',
    ],
)
def test_a_damaged_label_is_named_and_a_promotion_sets_it_again(
    registry: PromptRegistry,
    local_object_store: GcsObjectStore,
    registry_bucket: str,
    damage: bytes,
) -> None:
    """Rollback refuses a damaged label by name; promote replaces it, keeping it."""
    registry.push(_template(), author="ana")
    registry.promote("answer", 1, "prod", author="ana")
    path = "templates/answer/labels/prod.json"
    generation = local_object_store.write(registry_bucket, path, damage)

    with pytest.raises(CorruptObjectError, match=f"gs://{registry_bucket}/{path}"):
        registry.rollback("answer", "prod", author="ana")
    damaged: list[str] = []
    assert registry.labels("answer", damaged) == {} and damaged == ["prod"]

    moved = registry.promote("answer", 1, "prod", author="ana")
    assert moved.version == 1
    assert registry.resolve("answer@prod").version == 1
    kept = f"templates/answer/damaged/label-prod-{generation}.json"
    assert local_object_store.read(registry_bucket, kept).data == damage
    assert registry.labels("answer") == {"prod": 1}
    assert moved.previous_version is None
    with pytest.raises(InputError, match=f"history is kept at gs://.*{kept}"):
        registry.rollback("answer", "prod", author="ana")


def _edit_version_one(store: GcsObjectStore, bucket: str, **template: str) -> None:
    """Change fields of the stored template of answer:1 behind the registry."""
    path = "templates/answer/versions/00000001.json"
    doc = json.loads(store.read(bucket, path).data)
    doc["template"].update(template)
    store.write(bucket, path, json.dumps(doc).encode())


def test_a_version_changed_by_hand_is_not_served_and_a_push_stores_it_again(
    registry: PromptRegistry,
    local_object_store: GcsObjectStore,
    registry_bucket: str,
) -> None:
    """A stored version whose text no longer matches its hash is refused."""
    registry.push(_template(), author="ana")
    _edit_version_one(
        local_object_store,
        registry_bucket,
        template="IGNORE ALL {{ question }} {{ passages }}",
    )

    with pytest.raises(CorruptObjectError, match="does not match the content hash"):
        registry.resolve("answer")
    pushed = registry.push(_template(), author="ana")
    assert (pushed.version, pushed.created) == (2, True)
    assert registry.resolve("answer").template.template == _template().template


def test_a_version_holding_another_template_is_refused(
    registry: PromptRegistry,
    local_object_store: GcsObjectStore,
    registry_bucket: str,
) -> None:
    """The inner template's name must be the one the version is stored under."""
    registry.push(_template(), author="ana")
    _edit_version_one(local_object_store, registry_bucket, name="other")
    with pytest.raises(CorruptObjectError, match="holds template 'other'"):
        registry.version("answer", 1)


def test_variables_listing_mappings_is_a_clear_error() -> None:
    """`variables: [{a: 1}]` names the entry instead of failing on a type."""
    with pytest.raises(InputError, match=r"variables lists \{'a': 1\}"):
        parse_template(
            {
                "name": "broken",
                "model": "gemini-2.0-flash",
                "variables": [{"a": 1}],
                "template": "Hi {{ a }}",
            }
        )


def test_promoting_to_the_current_version_changes_nothing(
    registry: PromptRegistry, local_tables: BigQueryTableStore
) -> None:
    """A repeated promote writes no move and no event, so rollback skips nothing."""
    registry.push(_template(), author="ana")
    registry.push(_template("B {{ question }} {{ passages }}"), author="ana")
    registry.promote("answer", 1, "prod", author="ana")
    registry.promote("answer", 2, "prod", author="ana")
    again = registry.promote("answer", 2, "prod", author="ana")
    assert (again.previous_version, again.version) == (2, 2)
    assert [e["action"] for e in _events(local_tables)].count("promote") == 2
    assert registry.rollback("answer", "prod", author="ana").version == 1


def test_a_label_pointing_at_a_missing_version_says_so(
    registry: PromptRegistry,
    local_object_store: GcsObjectStore,
    registry_bucket: str,
) -> None:
    """The error names the label and the version it claims, and the fix."""
    registry.push(_template(), author="ana")
    local_object_store.write(
        registry_bucket,
        "templates/answer/labels/prod.json",
        b'{"label": "prod", "version": 99, "stack": [99], "history": []}',
    )
    with pytest.raises(NotFoundError, match="points at version 99, which does not"):
        registry.resolve("answer@prod")


@pytest.mark.parametrize(
    ("name", "label", "message"),
    [("Bad Name", "prod", "template name 'Bad Name'"), ("answer", "Prod!", "label")],
)
def test_the_sdk_checks_names_and_labels_before_reading(
    registry: PromptRegistry, name: str, label: str, message: str
) -> None:
    """get() with a bad name or label is an InputError, not a bucket lookup."""
    client = PromptClient(registry)
    with pytest.raises(InputError, match=message):
        client.get(name, label)


@pytest.fixture
def default_client_reset() -> Iterator[None]:
    """Forget the module-level default client before and after the test."""
    prompts.configure(None)
    yield
    prompts.configure(None)


def test_module_get_builds_its_client_from_the_environment(
    registry: PromptRegistry,
    local_emulators: LocalPlatform,
    monkeypatch: pytest.MonkeyPatch,
    default_client_reset: None,
) -> None:
    """prompts.get reads LLMOPS_PROMPTS_BUCKET and the emulator host on first use."""
    registry.push(_template(), author="ana")
    registry.promote("answer", 1, "staging", author="ana")
    monkeypatch.delenv("LLMOPS_PROMPTS_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="LLMOPS_PROMPTS_BUCKET is not set"):
        prompts.get("answer")
    monkeypatch.setenv("LLMOPS_PROMPTS_BUCKET", registry.bucket)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", local_emulators.storage_endpoint)
    prompt = prompts.get("answer", label="staging")
    assert (prompt.version, prompt.label, prompt.source) == (1, "staging", "registry")
