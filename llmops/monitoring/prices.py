"""The price table behind the report's cost estimate, and the query that applies it.

A price file is YAML (or JSON)::

    currency: USD
    models:
      gemini-2.0-flash: {input_per_million: 0.10, output_per_million: 0.40}

Prices are per million tokens. The table reaches BigQuery as query
parameters (one ``@model_N``, ``@input_N``, ``@output_N`` triple per model)
in a CTE of ``llmops/sql/reports/usage_cost.sql``; a model without a price
gets no cost (``priced`` is false) rather than a guessed one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from llmops.backends.base import TableStore
from llmops.errors import ConfigError

ENV_PRICES_FILE = "LLMOPS_PRICES_FILE"

# List prices in USD per million text tokens, as published when this table was
# written. Contracts differ: pass your own with --prices or LLMOPS_PRICES_FILE.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-2.0-flash-lite": (0.075, 0.30),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-pro": (1.25, 10.00),
}
_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$")


@dataclass(frozen=True)
class PriceTable:
    """USD per million tokens, in and out, per model name."""

    prices: Mapping[str, tuple[float, float]]
    source: str
    currency: str = "USD"

    @classmethod
    def default(cls) -> PriceTable:
        return cls(dict(DEFAULT_PRICES), "built-in list prices")

    @classmethod
    def load(cls, path: Path | str) -> PriceTable:
        """Read a price file; raise ConfigError naming what is wrong in it."""
        path = Path(path)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError(
                f"price file {path} cannot be read: {error.strerror}"
            ) from None
        except UnicodeDecodeError as error:
            raise ConfigError(
                f"price file {path} is not UTF-8 text (byte {error.start} cannot be "
                "decoded); save it as UTF-8 YAML"
            ) from None
        except yaml.YAMLError as error:
            raise ConfigError(f"price file {path} is not valid YAML: {error}") from None
        return cls.from_doc(doc, source=str(path))

    @classmethod
    def from_doc(cls, doc: Any, *, source: str) -> PriceTable:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("models"), Mapping):
            raise ConfigError(
                f"price file {source} must hold 'models:' mapping each model name to "
                "{input_per_million: N, output_per_million: N}"
            )
        prices: dict[str, tuple[float, float]] = {}
        for model, entry in doc["models"].items():
            if not isinstance(model, str) or not _MODEL.match(model):
                raise ConfigError(f"price file {source}: {model!r} is not a model name")
            values = []
            for key in ("input_per_million", "output_per_million"):
                value = entry.get(key) if isinstance(entry, Mapping) else None
                if (
                    isinstance(value, bool)
                    or not isinstance(value, (int, float))
                    or value < 0
                ):
                    raise ConfigError(
                        f"price file {source}: {model}.{key} must be a number of 0 or "
                        f"more (USD per million tokens), got {value!r}"
                    )
                values.append(float(value))
            prices[model] = (values[0], values[1])
        return cls(prices, source, str(doc.get("currency", "USD")))

    def cte(self) -> tuple[str, dict[str, Any]]:
        """The SELECT that stands for the price table, and its parameters."""
        if not self.prices:
            return (
                (
                    "SELECT CAST(NULL AS STRING) AS model_name, "
                    "CAST(NULL AS FLOAT64) AS input_per_million, "
                    "CAST(NULL AS FLOAT64) AS output_per_million "
                    "FROM UNNEST([1]) WHERE FALSE"
                ),
                {},
            )
        selects, params = [], {}
        for n, (model, (per_in, per_out)) in enumerate(sorted(self.prices.items())):
            selects.append(
                f"SELECT @model_{n} AS model_name, @input_{n} AS input_per_million, "
                f"@output_{n} AS output_per_million"
            )
            params.update(
                {f"model_{n}": model, f"input_{n}": per_in, f"output_{n}": per_out}
            )
        return "\n  UNION ALL ".join(selects), params


def usage_cost(
    tables: TableStore, prices: PriceTable, since: dt.date
) -> list[dict[str, Any]]:
    """Usage per day and group with its estimated cost, from ``since`` on."""
    text = resources.files("llmops.sql.reports").joinpath("usage_cost.sql").read_text()
    select, params = prices.cte()
    sql = text.replace("{prices}", select)
    return tables.query(sql, {**params, "since": since})
