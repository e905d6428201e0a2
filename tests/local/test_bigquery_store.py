"""BigQueryTableStore against the BigQuery emulator, and its error mapping."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest
from google.cloud import bigquery

from llmops import contract
from llmops.backends.base import TableStore
from llmops.backends.bigquery import BigQueryTableStore, query_parameter
from llmops.errors import InputError, NotFoundError, TransientError


def _event(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "event_type": "finalized",
        "event_time": dt.datetime.now(dt.UTC),
        "bucket": "llmops-docs",
        "object": "hr/handbook.md",
        "generation": 17,
        "status": "done",
        "chunk_count": 3,
        "pii_findings": [{"info_type": "EMAIL_ADDRESS", "count": 2}],
        "guardrails": ["prompt_injection"],
        "total_ms": 12.5,
    }
    row.update(overrides)
    return row


def test_store_implements_the_interface(local_table_store: BigQueryTableStore) -> None:
    """BigQueryTableStore satisfies the TableStore protocol."""
    assert isinstance(local_table_store, TableStore)


def test_platform_creates_every_contract_table_partitioned_and_clustered(
    local_table_store: BigQueryTableStore,
) -> None:
    """Each contract table exists with its schema, day partition and clustering."""
    for name in contract.TABLES:
        spec = contract.table_spec(name)
        table = local_table_store.client.get_table(local_table_store.table_id(name))

        assert [field.name for field in table.schema] == [
            field["name"] for field in spec.fields
        ]
        assert table.time_partitioning is not None
        assert table.time_partitioning.field == spec.partition_field
        assert table.time_partitioning.type_ == "DAY"
        assert table.clustering_fields == spec.clustering


def test_ensure_tables_is_idempotent_and_keeps_rows(
    local_tables: BigQueryTableStore,
) -> None:
    """Running ensure_tables again neither fails nor drops existing rows."""
    row = _event()
    local_tables.insert(contract.TABLE_INGESTION_EVENTS, [row])

    local_tables.ensure_tables()
    local_tables.ensure_tables([contract.table_spec(contract.TABLE_FEEDBACK)])

    rows = local_tables.query(
        "SELECT event_id FROM {dataset}.ingestion_events WHERE event_id = @id",
        {"id": row["event_id"]},
    )
    assert rows == [{"event_id": row["event_id"]}]


def test_insert_and_query_round_trip_repeated_records(
    local_tables: BigQueryTableStore,
) -> None:
    """Inserted rows, REPEATED RECORD and timestamps included, read back equal."""
    row = _event()

    local_tables.insert(contract.TABLE_INGESTION_EVENTS, [row])
    [back] = local_tables.query(
        "SELECT event_id, generation, pii_findings, guardrails, event_time, total_ms "
        "FROM {dataset}.ingestion_events WHERE event_id = @id",
        {"id": row["event_id"]},
    )

    assert back["generation"] == 17
    assert back["pii_findings"] == [{"info_type": "EMAIL_ADDRESS", "count": 2}]
    assert back["guardrails"] == ["prompt_injection"]
    assert back["event_time"] == row["event_time"]
    assert back["total_ms"] == pytest.approx(12.5)


def test_rejected_rows_are_named_by_index_and_reason(
    local_tables: BigQueryTableStore,
) -> None:
    """A batch with bad rows raises InputError naming each bad row and why."""
    rows = [
        _event(),
        {"event_id": "only-an-id"},
        _event(generation="seventeen"),
        _event(colour="blue"),
    ]

    with pytest.raises(InputError) as caught:
        local_tables.insert(contract.TABLE_INGESTION_EVENTS, rows)

    message = str(caught.value)
    assert "3 of 4 rows rejected" in message
    assert "row 0 " not in message
    assert "row 1 (" in message and "status is required" in message
    assert "row 2 (generation must be a whole number" in message
    assert "row 3 (colour is not a column" in message
    assert local_tables.query(
        "SELECT COUNT(*) AS n FROM {dataset}.ingestion_events"
    ) == [{"n": 0}]


def test_nested_record_fields_are_checked(local_tables: BigQueryTableStore) -> None:
    """A bad field inside a REPEATED RECORD is named with its path."""
    with pytest.raises(InputError, match=r"pii_findings\[1\]\.count"):
        local_tables.insert(
            contract.TABLE_INGESTION_EVENTS,
            [
                _event(
                    pii_findings=[
                        {"info_type": "EMAIL_ADDRESS", "count": 1},
                        {"info_type": "PHONE_NUMBER", "count": "two"},
                    ]
                )
            ],
        )


@pytest.mark.parametrize("value", [10**30, 2**63, -(2**63) - 1])
def test_integers_outside_int64_are_rejected_naming_the_field(
    local_tables: BigQueryTableStore, value: int
) -> None:
    """A whole number INT64 cannot hold is an InputError naming the column."""
    with pytest.raises(InputError, match=r"row 0 \(generation must be a whole number"):
        local_tables.insert(contract.TABLE_INGESTION_EVENTS, [_event(generation=value)])
    assert local_tables.query(
        "SELECT COUNT(*) AS n FROM {dataset}.ingestion_events"
    ) == [{"n": 0}]


def test_the_int64_bounds_themselves_are_stored(
    local_tables: BigQueryTableStore,
) -> None:
    """The largest and smallest INT64 still fit."""
    rows = [_event(generation=2**63 - 1), _event(generation=-(2**63))]
    local_tables.insert(contract.TABLE_INGESTION_EVENTS, rows)
    stored = local_tables.query(
        "SELECT generation FROM {dataset}.ingestion_events ORDER BY generation"
    )
    assert [row["generation"] for row in stored] == [-(2**63), 2**63 - 1]


def test_nested_integers_outside_int64_are_named_with_their_path(
    local_tables: BigQueryTableStore,
) -> None:
    """An INT64 overflow inside a REPEATED RECORD names its path too."""
    with pytest.raises(InputError, match=r"pii_findings\[0\]\.count must be"):
        local_tables.insert(
            contract.TABLE_INGESTION_EVENTS,
            [_event(pii_findings=[{"info_type": "EMAIL_ADDRESS", "count": 10**30}])],
        )


def test_an_integer_too_large_for_a_float_column_is_rejected(
    local_tables: BigQueryTableStore,
) -> None:
    """A FLOAT column refuses a whole number no float can hold."""
    with pytest.raises(InputError, match="total_ms is too large for FLOAT64"):
        local_tables.insert(contract.TABLE_INGESTION_EVENTS, [_event(total_ms=10**400)])


def test_query_parameters_infer_scalar_and_array_types(
    local_tables: BigQueryTableStore,
) -> None:
    """Int, string, bool, timestamp and array parameters filter as typed."""
    now = dt.datetime.now(dt.UTC)
    local_tables.insert(
        contract.TABLE_INGESTION_EVENTS,
        [
            _event(event_id="a", generation=1, status="done"),
            _event(event_id="b", generation=2, status="failed"),
            _event(event_id="c", generation=3, status="skipped"),
        ],
    )

    rows = local_tables.query(
        "SELECT event_id FROM {dataset}.ingestion_events "
        "WHERE generation >= @min_generation AND status IN UNNEST(@statuses) "
        "AND event_time > @since AND @keep ORDER BY event_id",
        {
            "min_generation": 2,
            "statuses": ["failed", "skipped"],
            "since": now - dt.timedelta(hours=1),
            "keep": True,
        },
    )

    assert [row["event_id"] for row in rows] == ["b", "c"]


def test_parameter_types_follow_python_values() -> None:
    """bool maps to BOOL (not INT64), aware datetime to TIMESTAMP, lists to ARRAY."""
    when = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)

    assert query_parameter("b", True).type_ == "BOOL"
    assert query_parameter("i", 3).type_ == "INT64"
    assert query_parameter("f", 0.5).type_ == "FLOAT64"
    assert query_parameter("t", when).type_ == "TIMESTAMP"
    assert query_parameter("d", when.date()).type_ == "DATE"
    array = query_parameter("a", [1, 2])
    assert isinstance(array, bigquery.ArrayQueryParameter)
    assert array.array_type == "INT64"
    with pytest.raises(InputError, match="mixes"):
        query_parameter("m", [1, "x"])
    with pytest.raises(InputError, match="object"):
        query_parameter("o", object())
    with pytest.raises(InputError, match="outside INT64"):
        query_parameter("big", 2**63)


def test_dataset_placeholder_names_the_backquoted_dataset(
    local_tables: BigQueryTableStore,
) -> None:
    """``{dataset}`` resolves to this store's dataset, not the default one."""
    local_tables.insert(contract.TABLE_INGESTION_EVENTS, [_event(event_id="mine")])

    rows = local_tables.query("SELECT event_id FROM {dataset}.ingestion_events")

    assert rows == [{"event_id": "mine"}]


def test_platform_creates_the_monitoring_views(
    local_table_store: BigQueryTableStore,
) -> None:
    """Each registered view exists in the platform's dataset and can be queried."""
    from llmops.views import VIEWS

    for view in VIEWS:
        assert isinstance(
            local_table_store.query(f"SELECT * FROM {{dataset}}.{view.name}"), list
        )


def test_missing_table_raises_not_found(local_tables: BigQueryTableStore) -> None:
    """Inserting into a table that does not exist is NotFoundError naming it."""
    with pytest.raises(NotFoundError, match="no_such_table"):
        local_tables.insert("no_such_table", [{"a": 1}])


def test_check_table_tells_a_missing_table_from_a_present_one(
    local_tables: BigQueryTableStore,
) -> None:
    """check_table passes for a contract table and names a missing one."""
    local_tables.check_table(contract.TABLE_INGESTION_EVENTS)
    other = BigQueryTableStore(
        local_tables.client, dataset="no_such_dataset", project=local_tables.project
    )
    with pytest.raises(NotFoundError, match="no_such_dataset.ingestion_events"):
        other.check_table(contract.TABLE_INGESTION_EVENTS)


def test_bad_sql_raises_input_error(local_tables: BigQueryTableStore) -> None:
    """A query the engine rejects is an InputError, not a retryable failure."""
    with pytest.raises(InputError, match="rejected"):
        local_tables.query("SELECT no_such_column FROM {dataset}.ingestion_events")


def test_unreachable_emulator_fails_fast_as_transient() -> None:
    """A refused connection becomes TransientError within seconds."""
    store = BigQueryTableStore.for_emulator(
        "http://127.0.0.1:9", "local", "llmops", retry_seconds=1.0
    )
    started = time.monotonic()

    with pytest.raises(TransientError):
        store.query("SELECT 1")
    assert time.monotonic() - started < 10


class _RejectingClient:
    """A client whose streaming insert answers as BigQuery does for a bad row."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def get_table(self, table_id: str, **_: Any) -> bigquery.Table:
        return bigquery.Table(
            table_id,
            schema=[bigquery.SchemaField("a", "STRING")],
        )

    def insert_rows_json(self, table_id: str, rows: list[Any], **_: Any) -> list[Any]:
        self.sent.append(rows)
        return [
            {"index": 0, "errors": [{"reason": "stopped", "message": ""}]},
            {
                "index": 1,
                "errors": [
                    {"reason": "invalid", "location": "a", "message": "too long"}
                ],
            },
        ]


def test_server_side_row_errors_name_the_rejected_row() -> None:
    """Per-row errors BigQuery returns become InputError naming the bad row only."""
    client = _RejectingClient()
    store = BigQueryTableStore(client, "p", "d")  # type: ignore[arg-type]

    with pytest.raises(InputError) as caught:
        store.insert("t", [{"a": "fine"}, {"a": "x" * 10}])

    message = str(caught.value)
    assert "1 of 2 rows rejected: row 1 (a: too long)" in message
    assert "1 valid rows were not inserted" in message
    assert len(client.sent) == 1
