"""The ingestion pipeline: one storage event in, one ingestion-events row out.

It takes its backends as arguments and never knows whether it runs in the
cloud or on the embedded default.

Retry contract, as the function entrypoints expose it: a handler that returns
has acknowledged the event (done, skipped, or failed for a reason a retry
cannot cure: the row says why); one that raises ``TransientError`` or
``ConfigError`` asks the platform to deliver the event again. Events are
delivered at least once, so every step is idempotent: datapoint ids derive
from (bucket, object, generation, chunk index), a generation already indexed
is not indexed again, and an event older than what is indexed is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from llmops.backends.base import (
    Datapoint,
    Embedder,
    ObjectStore,
    TableStore,
    VectorIndex,
)
from llmops.chunk_store import (
    ChunkStore,
    Manifest,
    StoredChunk,
    datapoint_id,
    document_key,
)
from llmops.contract import (
    METADATA_USE_CASE,
    RESTRICT_CONTENT_TYPE,
    RESTRICT_SOURCE_PREFIX,
    RESTRICT_USE_CASE,
    TABLE_INGESTION_EVENTS,
    USE_CASE_NAME,
    USE_CASE_RULE,
    EmbeddingModel,
)
from llmops.errors import (
    ConfigError,
    ConflictError,
    DocumentError,
    NotFoundError,
    TransientError,
)
from llmops.ingest.chunking import Chunk, Chunker, ChunkingConfig
from llmops.ingest.events import ObjectEvent
from llmops.ingest.extract import Section, decode_text, extract

logger = logging.getLogger(__name__)

# How often a manifest write is retried after losing a race to another delivery.
_MANIFEST_ATTEMPTS = 5


class TextRedactor(Protocol):
    """Removes personal data; returns the new text and counts per info type."""

    def redact(self, text: str) -> Any: ...


class GuardrailScanner(Protocol):
    """Flags text that carries, for example, prompt-injection patterns."""

    def scan(self, text: str, *, html: str | None = None) -> list[str]: ...


@dataclass
class Outcome:
    """What one event came to; also the ingestion-events row."""

    event: ObjectEvent
    status: str
    reason: str | None = None
    content_type: str | None = None
    use_case: str | None = None
    bytes: int | None = None
    characters: int | None = None
    chunk_count: int | None = None
    removed_datapoints: int | None = None
    pii_findings: dict[str, int] = field(default_factory=dict)
    guardrails: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # A duplicate delivery writes no second row.
    recorded: bool = True
    # The manifest committed for a done generation, and its object generation,
    # to be marked once the row is stored.
    manifest: tuple[Manifest, int] | None = None

    def row(self, embedding_model: str) -> dict[str, Any]:
        return {
            "event_id": self.event.id,
            "event_type": self.event.kind,
            "event_time": datetime.now(UTC).isoformat(),
            "bucket": self.event.bucket,
            "object": self.event.name,
            "generation": self.event.generation,
            "status": self.status,
            "reason": self.reason,
            "use_case": self.use_case,
            "content_type": self.content_type,
            "bytes": self.bytes,
            "characters": self.characters,
            "chunk_count": self.chunk_count,
            "removed_datapoints": self.removed_datapoints,
            "embedding_model": embedding_model,
            "pii_findings": [
                {"info_type": k, "count": v}
                for k, v in sorted(self.pii_findings.items())
            ],
            "guardrails": self.guardrails,
            **{f"{step}_ms": round(ms, 2) for step, ms in self.timings.items()},
        }


class _Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._start = time.perf_counter()

    def step(self, name: str) -> _Step:
        return _Step(self.timings, name)

    def total(self) -> None:
        self.timings["total"] = (time.perf_counter() - self._start) * 1000


class _Step:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self._timings, self._name = timings, name

    def __enter__(self) -> None:
        self._t = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self._timings[self._name] = (time.perf_counter() - self._t) * 1000


def request_batches(
    token_counts: Sequence[int], model: EmbeddingModel
) -> Iterator[tuple[int, int]]:
    """(start, end) ranges that keep each request within the model's limits."""
    start = 0
    while start < len(token_counts):
        end, tokens = start, 0
        while (
            end < len(token_counts)
            and end - start < model.max_batch
            and (
                end == start
                or tokens + token_counts[end] <= model.max_tokens_per_request
            )
        ):
            tokens += token_counts[end]
            end += 1
        yield start, end
        start = end


class IngestionPipeline:
    """Handles finalize and delete events for the docs bucket."""

    def __init__(
        self,
        *,
        docs_bucket: str,
        objects: ObjectStore,
        chunks: ChunkStore,
        embedder: Embedder,
        index: VectorIndex,
        tables: TableStore,
        chunking: ChunkingConfig | None = None,
        default_use_case: str = "shared",
        max_document_bytes: int = 50 * 1024 * 1024,
        redactor: TextRedactor | None = None,
        scanner: GuardrailScanner | None = None,
    ) -> None:
        if chunks.bucket == docs_bucket:
            raise ConfigError(
                f"the chunks bucket must differ from the docs bucket "
                f"({docs_bucket!r}), or the function's writes would trigger it; "
                "set LLMOPS_CHUNKS_BUCKET"
            )
        self.docs_bucket = docs_bucket
        self._objects = objects
        self._chunks = chunks
        self._embedder = embedder
        self._index = index
        self._tables = tables
        self._chunker = Chunker(
            embedder.tokenizer,
            chunking or ChunkingConfig.for_model(embedder.model.max_input_tokens),
        )
        self._default_use_case = default_use_case
        self._max_bytes = max_document_bytes
        self._redactor = redactor
        self._scanner = scanner
        self._dimensions_checked = False
        self._tables_checked = False

    # The two handlers ---------------------------------------------------

    def handle(self, event: ObjectEvent) -> Outcome:
        """Handle one event and record its outcome (unless a duplicate)."""
        try:
            self._check_tables()
            if event.kind == "finalized":
                outcome = self._finalized(event)
                if outcome.status in ("failed", "skipped"):
                    self._note_kept_generation(outcome)
            else:
                outcome = self._deleted(event)
        except ConfigError as error:
            # Say why in the table too, then ask for redelivery: once the
            # configuration is fixed, the retried event goes through.
            if self._tables_checked:
                self._record(Outcome(event, "failed", reason=f"configuration: {error}"))
            raise
        self._record(outcome)
        return outcome

    def _note_kept_generation(self, outcome: Outcome) -> None:
        """Say in a failed upload's reason that the version before it stays."""
        event = outcome.event
        manifest, _ = self._chunks.manifest(event.bucket, event.name)
        if manifest and not manifest.deleted and manifest.generation < event.generation:
            outcome.reason = (
                f"{outcome.reason}; the previous version (generation "
                f"{manifest.generation}) stays searchable until a readable one "
                "is uploaded"
            )

    def _finalized(self, event: ObjectEvent) -> Outcome:
        clock = _Clock()
        outcome = Outcome(
            event, "done", bytes=event.size, use_case=self._use_case(event)
        )
        outcome.timings = clock.timings

        skipped = self._not_ingestible(event)
        if skipped:
            outcome.status, outcome.reason = "skipped", skipped
            return outcome
        refused = self._unacceptable(event, outcome.use_case or "")
        if refused:
            outcome.status, outcome.reason = "failed", refused
            return outcome

        manifest, manifest_generation = self._chunks.manifest(event.bucket, event.name)
        if manifest and manifest.deleted and manifest.generation >= event.generation:
            outcome.status = "skipped"
            outcome.reason = "the object was deleted before it was ingested"
            return outcome
        if manifest and manifest.generation == event.generation:
            if not manifest.recorded:
                # Indexed, but the done row was lost (the delivery failed after
                # the commit): record it now instead of indexing again.
                outcome.content_type = manifest.content_type
                outcome.chunk_count = manifest.chunk_count
                outcome.use_case = manifest.use_case
                outcome.reason = "recorded on redelivery"
                outcome.manifest = (manifest, manifest_generation)
                return outcome
            outcome.status, outcome.recorded = "skipped", False
            outcome.reason = "generation already ingested (duplicate delivery)"
            return outcome
        if manifest and manifest.generation > event.generation:
            outcome.status = "skipped"
            outcome.reason = f"superseded by generation {manifest.generation}"
            return outcome

        # Read the object exactly at the event's generation.
        try:
            with clock.step("download"):
                stored = self._objects.read(event.bucket, event.name, event.generation)
        except NotFoundError:
            outcome.status = "skipped"
            outcome.reason = "generation no longer exists (overwritten or deleted)"
            return outcome
        outcome.bytes = len(stored.data)
        if outcome.bytes > self._max_bytes:
            outcome.status = "failed"
            outcome.reason = (
                f"object is {outcome.bytes} bytes, over the {self._max_bytes}-byte "
                "limit; split it or raise LLMOPS_MAX_DOCUMENT_BYTES"
            )
            return outcome

        try:
            with clock.step("extract"):
                extracted = extract(event.name, stored.data, stored.content_type)
                html = (
                    decode_text(stored.data, "html")[0]
                    if extracted.content_type == "html"
                    else None
                )
                sections = self._protect(extracted.sections, outcome, html)
        except DocumentError as error:
            outcome.status, outcome.reason = error.status, error.reason
            return outcome
        except (TransientError, ConfigError):
            raise
        except Exception as error:
            # A parser tripping over a damaged or hostile file must not turn
            # into a retry storm: the document fails, the event is acknowledged.
            logger.warning(
                "ingest.extract_crashed",
                extra={"fields": {"object": event.name, "error": type(error).__name__}},
            )
            outcome.status = "failed"
            outcome.reason = (
                f"content could not be read ({type(error).__name__}); re-save the "
                "file in its application and upload it again"
            )
            return outcome
        outcome.content_type = extracted.content_type
        outcome.characters = sum(len(s.text) for s in sections)
        if extracted.notes:
            outcome.reason = "; ".join(extracted.notes)

        with clock.step("chunk"):
            chunks = self._chunker.chunk(sections)
        if not chunks:
            outcome.status = "skipped"
            outcome.reason = "no text to index after extraction"
            return outcome
        outcome.chunk_count = len(chunks)

        self._check_dimensions()
        with clock.step("embed"):
            vectors = self._embed(chunks)

        doc_key = document_key(event.bucket, event.name)
        restricts = {
            RESTRICT_USE_CASE: outcome.use_case or self._default_use_case,
            RESTRICT_SOURCE_PREFIX: source_prefix(event.name),
            RESTRICT_CONTENT_TYPE: extracted.content_type,
        }
        with clock.step("upsert"):
            # Text first: a datapoint that is searchable always has its text.
            self._chunks.write_chunks(
                [
                    StoredChunk(
                        id=datapoint_id(doc_key, event.generation, c.index),
                        bucket=event.bucket,
                        object=event.name,
                        generation=event.generation,
                        index=c.index,
                        heading=c.heading,
                        text=c.text,
                        content_type=extracted.content_type,
                        use_case=restricts[RESTRICT_USE_CASE],
                        guardrails=tuple(outcome.guardrails),
                    )
                    for c in chunks
                ]
            )
            self._index.upsert(
                [
                    Datapoint(
                        datapoint_id(doc_key, event.generation, c.index), v, restricts
                    )
                    for c, v in zip(chunks, vectors, strict=True)
                ]
            )
            new = Manifest(
                bucket=event.bucket,
                object=event.name,
                generation=event.generation,
                chunk_count=len(chunks),
                content_type=extracted.content_type,
                use_case=restricts[RESTRICT_USE_CASE],
                embedding_model=self._embedder.model.name,
            )
            outcome.removed_datapoints = self._commit(
                new, manifest, manifest_generation, outcome
            )
        clock.total()
        return outcome

    def _commit(
        self,
        new: Manifest,
        old: Manifest | None,
        old_generation: int,
        outcome: Outcome,
    ) -> int:
        """Make ``new`` the indexed generation and retire the previous one."""
        removed = 0
        for _ in range(_MANIFEST_ATTEMPTS):
            if old and old.deleted and old.generation >= new.generation:
                # Deleted while we were ingesting it: retire what we wrote.
                self._retire(new)
                outcome.status = "skipped"
                outcome.reason = "the object was deleted while it was being ingested"
                return removed
            if old and old.generation > new.generation:
                # A newer generation won the race: retire what we just wrote.
                self._retire(new)
                outcome.status = "skipped"
                outcome.reason = f"superseded by generation {old.generation}"
                return removed
            if old and old.generation == new.generation:
                outcome.status, outcome.recorded = "skipped", False
                outcome.reason = "generation already ingested (concurrent delivery)"
                return removed
            try:
                written = self._chunks.write_manifest(
                    new, if_generation_match=old_generation
                )
            except ConflictError:
                old, old_generation = self._chunks.manifest(new.bucket, new.object)
                continue
            outcome.manifest = (new, written)
            if old:
                removed += self._retire(old)
            return removed
        raise ConflictError(
            f"manifest of {new.object!r} kept changing under concurrent deliveries; "
            "the event will be retried"
        )

    def _retire(self, manifest: Manifest) -> int:
        ids = manifest.datapoint_ids()
        if ids:
            self._index.remove(ids)
            self._chunks.delete_chunks(manifest.doc_key, manifest.generation)
        return len(ids)

    def _deleted(self, event: ObjectEvent) -> Outcome:
        clock = _Clock()
        outcome = Outcome(event, "deleted", bytes=event.size)
        outcome.timings = clock.timings
        if event.bucket != self.docs_bucket:
            outcome.status = "skipped"
            outcome.reason = f"bucket {event.bucket!r} is not the docs bucket"
            return outcome
        for _ in range(_MANIFEST_ATTEMPTS):
            manifest, manifest_generation = self._chunks.manifest(
                event.bucket, event.name
            )
            if manifest and manifest.generation > event.generation:
                outcome.status = "skipped"
                outcome.reason = (
                    f"generation {manifest.generation} replaced it and stays indexed"
                )
                return outcome
            if manifest and manifest.deleted:
                outcome.status = "skipped"
                outcome.reason = "already deleted"
                return outcome
            # Cloud Storage sends a delete for the generation an upload
            # replaces. The replacing generation's own ingestion retires this
            # one once it is indexed, and if the new upload cannot be read the
            # old text stays searchable, so nothing is lost to a bad upload.
            live = self._objects.live_generation(event.bucket, event.name)
            if live is not None and live > event.generation:
                outcome.status = "skipped"
                outcome.reason = (
                    f"replaced by generation {live}, whose ingestion retires it"
                )
                return outcome
            # The tombstone goes first, so that a finalize of this generation
            # still under way cannot commit after us; then the datapoints go.
            tombstone = Manifest(
                bucket=event.bucket,
                object=event.name,
                generation=event.generation,
                chunk_count=0,
                content_type=manifest.content_type if manifest else "",
                use_case=manifest.use_case if manifest else "",
                embedding_model=self._embedder.model.name,
                deleted=True,
            )
            try:
                self._chunks.write_manifest(
                    tombstone, if_generation_match=manifest_generation
                )
            except ConflictError:
                continue
            with clock.step("upsert"):
                outcome.removed_datapoints = self._retire(manifest) if manifest else 0
            if manifest is None:
                outcome.status = "skipped"
                outcome.reason = "nothing was indexed for this object"
            else:
                outcome.use_case = manifest.use_case
                outcome.content_type = manifest.content_type
            clock.total()
            return outcome
        raise ConflictError(
            f"manifest of {event.name!r} kept changing under concurrent deliveries; "
            "the event will be retried"
        )

    # Steps -----------------------------------------------------------------

    def _not_ingestible(self, event: ObjectEvent) -> str | None:
        if event.bucket != self.docs_bucket:
            return f"bucket {event.bucket!r} is not the docs bucket"
        if event.name.endswith("/"):
            return "folder placeholder (name ends with '/')"
        if event.size == 0:
            return "empty object (0 bytes)"
        return None

    def _unacceptable(self, event: ObjectEvent, use_case: str) -> str | None:
        """Why the object fails before it is read, if it does."""
        if event.size > self._max_bytes:
            return (
                f"object is {event.size} bytes, over the {self._max_bytes}-byte "
                "limit; split it or raise LLMOPS_MAX_DOCUMENT_BYTES"
            )
        if not USE_CASE_NAME.fullmatch(use_case):
            return (
                f"use case {use_case[:80]!r} (object metadata {METADATA_USE_CASE}) "
                f"must be {USE_CASE_RULE}; set the metadata to one of the "
                "stack's use cases"
            )
        return None

    def _use_case(self, event: ObjectEvent) -> str:
        return event.metadata.get(METADATA_USE_CASE) or self._default_use_case

    def _protect(
        self, sections: list[Section], outcome: Outcome, html: str | None
    ) -> list[Section]:
        """Flag guardrails and redact personal data before anything is chunked."""
        if self._scanner is not None:
            text = "\n\n".join(s.text for s in sections)
            outcome.guardrails = sorted(set(self._scanner.scan(text, html=html)))
        if self._redactor is None:
            return sections
        protected = []
        for section in sections:
            heading = (
                self._redactor.redact(section.heading) if section.heading else None
            )
            body = self._redactor.redact(section.text)
            for result in (heading, body):
                if result is not None:
                    for info_type, count in result.findings.items():
                        outcome.pii_findings[info_type] = (
                            outcome.pii_findings.get(info_type, 0) + count
                        )
            protected.append(Section(heading.text if heading else "", body.text))
        return protected

    def _check_tables(self) -> None:
        # Once per instance, before anything is indexed: a wrong dataset would
        # otherwise show only after the chunks are already in the index.
        if self._tables_checked:
            return
        try:
            self._tables.check_table(TABLE_INGESTION_EVENTS)
        except NotFoundError as error:
            raise ConfigError(
                f"the ingestion-events table is missing ({error}); set "
                "LLMOPS_BIGQUERY_DATASET to the stack's bigqueryDataset output "
                "(or run `pulumi up` to create the monitoring tables)"
            ) from None
        self._tables_checked = True

    def _check_dimensions(self) -> None:
        if self._dimensions_checked:
            return
        index_dimensions = self._index.dimensions()
        if index_dimensions != self._embedder.dimensions:
            raise ConfigError(
                f"embedding model {self._embedder.model.name} gives "
                f"{self._embedder.dimensions} dimensions but the vector index has "
                f"{index_dimensions}; set LLMOPS_EMBEDDING_MODEL / "
                "LLMOPS_EMBEDDING_DIMENSIONS to match the index, or recreate the "
                "index with the model's dimension"
            )
        self._dimensions_checked = True

    def _embed(self, chunks: list[Chunk]) -> list[Sequence[float]]:
        vectors: list[Sequence[float]] = []
        counts = [c.tokens for c in chunks]
        for start, end in request_batches(counts, self._embedder.model):
            vectors.extend(
                self._embedder.embed(
                    [c.text for c in chunks[start:end]], task="document"
                )
            )
        return vectors

    def _record(self, outcome: Outcome) -> None:
        fields = {
            "event_id": outcome.event.id,
            "object": outcome.event.name,
            "generation": outcome.event.generation,
            "status": outcome.status,
            "reason": outcome.reason,
            "chunks": outcome.chunk_count,
            "ms": round(outcome.timings.get("total", 0.0), 1),
        }
        logger.info(
            f"ingest.{outcome.event.kind}.{outcome.status}", extra={"fields": fields}
        )
        if not outcome.recorded:
            return
        self._tables.insert(
            TABLE_INGESTION_EVENTS, [outcome.row(self._embedder.model.name)]
        )
        if outcome.status == "done" and outcome.manifest is not None:
            manifest, generation = outcome.manifest
            try:
                self._chunks.write_manifest(
                    replace(manifest, recorded=True), if_generation_match=generation
                )
            except ConflictError:
                # A newer generation committed meanwhile; its own row follows.
                pass


def source_prefix(name: str) -> str:
    """The restrict value for where an object sits: its top-level folder."""
    return name.split("/", 1)[0] + "/" if "/" in name else "/"
