"""The monitoring tables as a ``TableStore``, over google-cloud-bigquery.

One class for BigQuery in the cloud and for the bqemulator of the local
platform. Rows go in by streaming insert (``insert_rows_json``), which answers
with per-row errors instead of raising; those become one ``InputError`` that
names every rejected row. Queries take ``@name`` parameters whose BigQuery
types are inferred from the Python values, and name tables as
``{dataset}.table``.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY

from llmops import contract
from llmops.backends._google import TRANSIENT_ERRORS
from llmops.errors import (
    ConfigError,
    ConflictError,
    InputError,
    NotFoundError,
    TransientError,
)
from llmops.views import View

logger = logging.getLogger(__name__)

CLOUD_RETRY_SECONDS = 60.0
CLOUD_TIMEOUT_SECONDS = 120.0
EMULATOR_RETRY_SECONDS = 3.0
EMULATOR_TIMEOUT_SECONDS = 30.0

_TRANSIENT = TRANSIENT_ERRORS


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, _TRANSIENT)


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Raise the package's errors for the client's, naming ``what`` was asked."""
    try:
        yield
    except api_exceptions.NotFound as error:
        raise NotFoundError(f"{what}: not found ({error.message})") from error
    except api_exceptions.Conflict as error:
        raise ConflictError(f"{what}: already exists ({error.message})") from error
    except (api_exceptions.Forbidden, api_exceptions.Unauthorized) as error:
        raise ConfigError(
            f"{what}: access denied ({error.message}); grant the caller's service "
            "account BigQuery Data Editor and Job User on the dataset"
        ) from error
    except api_exceptions.BadRequest as error:
        raise InputError(f"{what}: rejected ({error.message})") from error
    except _TRANSIENT as error:
        raise TransientError(
            f"{what}: BigQuery is unavailable ({type(error).__name__}: {error}); "
            "retry later"
        ) from error
    except api_exceptions.GoogleAPICallError as error:
        if error.code is not None and error.code >= 500:
            raise TransientError(
                f"{what}: BigQuery answered {error.code}; retry later"
            ) from error
        raise


def _schema(fields: Sequence[Mapping[str, Any]]) -> list[bigquery.SchemaField]:
    return [bigquery.SchemaField.from_api_repr(dict(field)) for field in fields]


def _json_value(value: Any, field: bigquery.SchemaField | None) -> Any:
    """One value as ``insert_rows_json`` sends it, guided by its field."""
    if value is None:
        return None
    field_type = field.field_type.upper() if field is not None else ""
    if (
        field is not None
        and field.mode == "REPEATED"
        and isinstance(value, (list, tuple))
    ):
        element = bigquery.SchemaField(
            field.name, field.field_type, mode="NULLABLE", fields=field.fields
        )
        return [_json_value(item, element) for item in value]
    if field_type == "JSON":
        # The emulator answers 500 to a JSON column sent as an object; BigQuery
        # takes the serialised text as well, so always send text.
        return value if isinstance(value, str) else json.dumps(value)
    if field_type in ("RECORD", "STRUCT") and isinstance(value, Mapping):
        children = {child.name: child for child in (field.fields if field else ())}
        return {
            key: _json_value(item, children.get(key)) for key, item in value.items()
        }
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and field_type == "TIMESTAMP":
            raise InputError(
                f"field {field.name if field else '?'} got a naive datetime "
                f"{value.isoformat()}; pass a timezone-aware one (UTC)"
            )
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {key: _json_value(item, None) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item, None) for item in value]
    return value


# The range of BigQuery's INT64; the emulator fails the request for a value
# outside it, and BigQuery rejects the row.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_INTEGER_TYPES = ("INTEGER", "INT64")
_FLOAT_TYPES = ("FLOAT", "FLOAT64")

_CHECKS: dict[str, tuple[tuple[type, ...], str]] = {
    "STRING": ((str,), "text"),
    "INTEGER": ((int,), "a whole number"),
    "INT64": ((int,), "a whole number"),
    "FLOAT": ((int, float), "a number"),
    "FLOAT64": ((int, float), "a number"),
    "NUMERIC": ((int, decimal.Decimal, str), "a number"),
    "BOOLEAN": ((bool,), "true or false"),
    "BOOL": ((bool,), "true or false"),
    "TIMESTAMP": ((dt.datetime, str), "a timezone-aware datetime"),
    "DATETIME": ((dt.datetime, str), "a datetime"),
    "DATE": ((dt.date, str), "a date"),
    "BYTES": ((bytes, str), "bytes"),
}


def _problems(
    value: Any, field: bigquery.SchemaField, path: str, *, element: bool = False
) -> list[str]:
    """What is wrong with ``value`` for ``field``; empty when it fits."""
    if value is None:
        if field.mode == "REQUIRED" and not element:
            return [f"{path} is required"]
        return []
    if field.mode == "REPEATED" and not element:
        if not isinstance(value, (list, tuple)):
            return [f"{path} must be a list, got {type(value).__name__}"]
        found: list[str] = []
        for position, item in enumerate(value):
            found += _problems(item, field, f"{path}[{position}]", element=True)
        return found
    field_type = field.field_type.upper()
    if field_type in ("RECORD", "STRUCT"):
        if not isinstance(value, Mapping):
            return [f"{path} must be an object, got {type(value).__name__}"]
        return _row_problems(value, field.fields, f"{path}.")
    check = _CHECKS.get(field_type)
    if check is None:
        return []
    kinds, wanted = check
    # bool is an int to Python; BigQuery tells them apart.
    mistyped = not isinstance(value, kinds) or (
        isinstance(value, bool) and bool not in kinds
    )
    if mistyped:
        return [f"{path} must be {wanted}, got {type(value).__name__} {value!r:.40}"]
    if field_type in _INTEGER_TYPES and isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            return [
                f"{path} must be a whole number from {INT64_MIN} to {INT64_MAX} "
                f"(INT64), got {value!r:.40}"
            ]
    elif field_type in _FLOAT_TYPES and isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            return [f"{path} is too large for FLOAT64, got {value!r:.40}"]
    return []


def _row_problems(
    row: Mapping[str, Any], fields: Sequence[bigquery.SchemaField], prefix: str = ""
) -> list[str]:
    by_name = {field.name: field for field in fields}
    found = [
        f"{prefix}{key} is not a column of the table"
        for key in row
        if key not in by_name
    ]
    for field in fields:
        found += _problems(row.get(field.name), field, f"{prefix}{field.name}")
    return found


def _scalar_type(value: Any) -> str:
    # bool before int: True is an int to Python, a BOOL to BigQuery.
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InputError(
                f"query parameter value {value!r:.40} is outside INT64 "
                f"({INT64_MIN} to {INT64_MAX}); pass a smaller whole number, or a "
                "Decimal for NUMERIC"
            )
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, decimal.Decimal):
        return "NUMERIC"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, bytes):
        return "BYTES"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP" if value.tzinfo is not None else "DATETIME"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, dt.time):
        return "TIME"
    raise InputError(
        f"query parameter value {value!r} has type {type(value).__name__}, which "
        "has no BigQuery type; pass bool, int, float, Decimal, str, bytes, "
        "datetime, date, time, a list of one of these, or a bigquery parameter"
    )


def query_parameter(name: str, value: Any) -> bigquery.query._AbstractQueryParameter:
    """A BigQuery query parameter for ``@name``, typed from the Python value.

    A list becomes an ARRAY of its elements' type; an empty list an
    ARRAY<STRING>. A ready bigquery parameter is passed through.
    """
    if isinstance(value, bigquery.query._AbstractQueryParameter):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        kinds = {_scalar_type(item) for item in items if item is not None}
        if len(kinds) > 1:
            raise InputError(
                f"query parameter @{name} mixes {', '.join(sorted(kinds))}; "
                "pass a list of one type"
            )
        return bigquery.ArrayQueryParameter(
            name, kinds.pop() if kinds else "STRING", items
        )
    if value is None:
        return bigquery.ScalarQueryParameter(name, "STRING", None)
    return bigquery.ScalarQueryParameter(name, _scalar_type(value), value)


class BigQueryTableStore:
    """Append rows to, and query, the tables of one project's dataset."""

    def __init__(
        self,
        client: bigquery.Client,
        project: str,
        dataset: str,
        *,
        location: str | None = None,
        retry_seconds: float = CLOUD_RETRY_SECONDS,
        timeout_seconds: float = CLOUD_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self.project = project
        self.dataset = dataset
        self._location = location
        self._retry = api_retry.Retry(
            predicate=_is_retryable, initial=0.2, maximum=5.0, timeout=retry_seconds
        )
        # Re-runs a query that failed for rate limits or a backend error.
        self._job_retry = DEFAULT_JOB_RETRY.with_timeout(retry_seconds)
        self._timeout = timeout_seconds
        self._schemas: dict[str, list[bigquery.SchemaField]] = {}

    @classmethod
    def for_emulator(
        cls,
        endpoint: str,
        project: str,
        dataset: str,
        *,
        retry_seconds: float = EMULATOR_RETRY_SECONDS,
        timeout_seconds: float = EMULATOR_TIMEOUT_SECONDS,
    ) -> BigQueryTableStore:
        """A store on a BigQuery emulator at ``endpoint`` (``http://host:port``)."""
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(
                f"BigQuery emulator endpoint {endpoint!r} must be a URL such as "
                f"http://127.0.0.1:9050 (set {contract.ENV_BIGQUERY_ENDPOINT})"
            )
        client = bigquery.Client(
            project=project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options=ClientOptions(api_endpoint=endpoint.rstrip("/")),
        )
        return cls(
            client,
            project,
            dataset,
            retry_seconds=retry_seconds,
            timeout_seconds=timeout_seconds,
        )

    @property
    def client(self) -> bigquery.Client:
        """The underlying client."""
        return self._client

    def table_id(self, table: str) -> str:
        """The table's full id, ``project.dataset.table``."""
        return f"{self.project}.{self.dataset}.{table}"

    def check_table(self, table: str) -> None:
        """Raise NotFoundError unless ``table`` exists (its schema is kept)."""
        self._table_schema(table)

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append rows; raise InputError naming each rejected row and why."""
        if not rows:
            return
        what = f"insert into {self.table_id(table)}"
        schema = self._table_schema(table)
        fields = {field.name: field for field in schema}

        # The emulator does not check rows (a bad one fails the whole request
        # with a 500), and BigQuery rejects the batch for one bad row; checking
        # here names every bad row, in the cloud and locally alike.
        rejected = [
            (index, problems)
            for index, row in enumerate(rows)
            if (problems := _row_problems(row, schema))
        ]
        if rejected:
            described = ", ".join(
                f"row {index} ({'; '.join(problems)})" for index, problems in rejected
            )
            raise InputError(
                f"{what}: {len(rejected)} of {len(rows)} rows rejected: {described}; "
                "fix those rows to match the table schema and insert them again"
            )
        payload = [
            {key: _json_value(value, fields.get(key)) for key, value in row.items()}
            for row in rows
        ]

        started = time.perf_counter()
        with _translated(what):
            errors = self._client.insert_rows_json(
                self.table_id(table),
                payload,
                retry=self._retry,
                timeout=self._timeout,
            )
        if errors:
            raise InputError(f"{what}: {_describe_row_errors(errors, len(rows))}")
        logger.debug(
            "bigquery.insert table=%s rows=%d ms=%.1f",
            table,
            len(rows),
            (time.perf_counter() - started) * 1000,
        )

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run ``sql`` with ``@name`` parameters; ``{dataset}`` is the dataset."""
        text = sql.replace("{dataset}", f"`{self.project}.{self.dataset}`")
        config = bigquery.QueryJobConfig(
            query_parameters=[
                query_parameter(name, value) for name, value in (params or {}).items()
            ]
        )
        started = time.perf_counter()
        with _translated(f"query on {self.project}.{self.dataset}"):
            job = self._client.query(
                text,
                job_config=config,
                location=self._location,
                retry=self._retry,
                timeout=self._timeout,
                # The client's own insert retry runs for ten minutes; ours
                # (``retry``) already covers the insert request.
                job_retry=None,
            )
            result = job.result(
                timeout=self._timeout, retry=self._retry, job_retry=self._job_retry
            )
            rows = [dict(row.items()) for row in result]
        logger.debug(
            "bigquery.query rows=%d ms=%.1f",
            len(rows),
            (time.perf_counter() - started) * 1000,
        )
        return rows

    def ensure_dataset(self) -> None:
        """Create the dataset unless it exists."""
        dataset = bigquery.Dataset(f"{self.project}.{self.dataset}")
        if self._location:
            dataset.location = self._location
        with _translated(f"create dataset {self.project}.{self.dataset}"):
            self._client.create_dataset(
                dataset, exists_ok=True, retry=self._retry, timeout=self._timeout
            )

    def ensure_tables(self, specs: Iterable[contract.TableSpec] | None = None) -> None:
        """Create the dataset and each table, partitioned and clustered.

        ``specs`` defaults to every table of ``llmops.contract.TABLES``. A
        table that exists is left as it is.
        """
        self.ensure_dataset()
        for spec in (
            specs if specs is not None else map(contract.table_spec, contract.TABLES)
        ):
            table = bigquery.Table(
                self.table_id(spec.name), schema=_schema(spec.fields)
            )
            table.description = spec.description
            table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field=spec.partition_field
            )
            table.clustering_fields = list(spec.clustering) or None
            with _translated(f"create table {self.table_id(spec.name)}"):
                self._client.create_table(
                    table, exists_ok=True, retry=self._retry, timeout=self._timeout
                )
            self._schemas.pop(spec.name, None)
            logger.debug("bigquery.table_ready table=%s", spec.name)

    def ensure_views(self, views: Iterable[View]) -> None:
        """Create each view over the dataset's tables, replacing its query."""
        for view in views:
            table = bigquery.Table(self.table_id(view.name))
            table.description = view.description
            table.view_query = view.render(self.project, self.dataset)
            with _translated(f"create view {self.table_id(view.name)}"):
                try:
                    self._client.create_table(
                        table, retry=self._retry, timeout=self._timeout
                    )
                except api_exceptions.Conflict:
                    self._client.update_table(
                        table, ["view_query", "description"], retry=self._retry
                    )

    def _table_schema(self, table: str) -> list[bigquery.SchemaField]:
        if table not in self._schemas:
            with _translated(f"read schema of {self.table_id(table)}"):
                fetched = self._client.get_table(
                    self.table_id(table), retry=self._retry, timeout=self._timeout
                )
            self._schemas[table] = list(fetched.schema)
        return self._schemas[table]


def _describe_row_errors(errors: Sequence[Mapping[str, Any]], total: int) -> str:
    parts = []
    held_back = 0
    for entry in errors:
        index = entry.get("index", "?")
        entry_reasons = {item.get("reason") for item in entry.get("errors", ())}
        if entry_reasons == {"stopped"}:
            # A good row BigQuery did not insert because another was rejected.
            held_back += 1
            continue
        reasons = "; ".join(
            f"{item.get('location') or 'row'}: "
            f"{item.get('message') or item.get('reason')}"
            for item in entry.get("errors", ())
        )
        parts.append(f"row {index} ({reasons or 'no reason given'})")
    rejected = len(errors) - held_back
    return (
        f"{rejected} of {total} rows rejected: "
        + ", ".join(parts)
        + (f"; {held_back} valid rows were not inserted with them" if held_back else "")
        + "; fix those rows to match the table schema and insert them again"
    )
