"""``llmops prompts test``: run each template's test cases and check their answers.

With a model, every case is rendered, answered and checked against its
assertions (contains, not_contains, regex, json_schema, and similar_to, a
cosine similarity through the embedder above a threshold). Recorded outputs
(a JSON file) make a change visible: an answer that differs from the one
recorded is reported with what changed, the model or the template. Without a
model, the cases are only rendered (every variable checked) and the result
says that the model checks were not run; with recorded outputs the
assertions are checked against those instead.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from llmops.backends.base import Embedder
from llmops.errors import InputError, LlmopsError
from llmops.prompts.template import Assertion, PromptTemplate, RenderedPrompt, TestCase

logger = logging.getLogger(__name__)

PASS = "pass"
FAIL = "fail"
ERROR = "error"
RENDERED = "rendered"


@runtime_checkable
class TextModel(Protocol):
    """A model that answers a rendered prompt with text."""

    name: str

    def generate(self, prompt: RenderedPrompt) -> str:
        """The model's answer to ``prompt``."""
        ...


@dataclass(frozen=True)
class AssertionResult:
    """One assertion's verdict and why."""

    kind: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class CaseResult:
    """One test case's outcome."""

    template: str
    case: str
    status: str
    assertions: tuple[AssertionResult, ...] = ()
    output: str | None = None
    replayed: bool = False
    # None when there was nothing recorded to compare with.
    changed: bool | None = None
    change: str = ""
    error: str = ""


@dataclass
class TestRun:
    """Every case's result, and whether the model checks ran."""

    __test__ = False  # not a pytest class

    results: list[CaseResult] = field(default_factory=list)
    model: str | None = None
    model_checks_run: bool = False

    @property
    def ok(self) -> bool:
        return all(r.status in (PASS, RENDERED) for r in self.results)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for result in self.results:
            found[result.status] = found.get(result.status, 0) + 1
        return found

    @property
    def changed(self) -> list[CaseResult]:
        return [r for r in self.results if r.changed]


class RecordedOutputs:
    """Model answers per template and case, kept in a JSON file between runs."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError as error:
                raise InputError(
                    f"recorded outputs file {self.path} is not JSON ({error}); "
                    "delete it and record again with --record"
                ) from None
            self.entries = dict(doc.get("outputs", {}))

    @staticmethod
    def key(template: str, case: str) -> str:
        return f"{template}/{case}"

    def get(self, template: str, case: str) -> dict[str, Any] | None:
        return self.entries.get(self.key(template, case))

    def put(
        self, template: PromptTemplate, case: TestCase, model: str, output: str
    ) -> None:
        self.entries[self.key(template.name, case.name)] = {
            "output": output,
            "model": model,
            "content_hash": template.content_hash(),
            "recorded": dt.datetime.now(dt.UTC).isoformat(),
        }

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"outputs": dict(sorted(self.entries.items()))}
        self.path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def check(
    assertion: Assertion, output: str, embedder: Embedder | None
) -> AssertionResult:
    """Whether ``output`` satisfies ``assertion``."""
    kind, expected = assertion.kind, assertion.expected
    if kind == "contains":
        ok = expected in output
        return AssertionResult(
            kind, ok, f"{'contains' if ok else 'lacks'} {expected!r}"
        )
    if kind == "not_contains":
        ok = expected not in output
        return AssertionResult(
            kind, ok, f"{'free of' if ok else 'contains'} {expected!r}"
        )
    if kind == "regex":
        ok = re.search(expected, output) is not None
        return AssertionResult(
            kind, ok, f"{'matches' if ok else 'does not match'} /{expected}/"
        )
    if kind == "json_schema":
        from jsonschema import Draft202012Validator

        try:
            value = json.loads(output)
        except ValueError as error:
            return AssertionResult(kind, False, f"answer is not JSON ({error})")
        problems = sorted(Draft202012Validator(expected).iter_errors(value), key=str)
        if problems:
            return AssertionResult(
                kind, False, f"schema violated: {problems[0].message}"
            )
        return AssertionResult(kind, True, "valid against the schema")
    if kind == "similar_to":
        if embedder is None:
            return AssertionResult(kind, False, "not checked: no embedder configured")
        threshold = assertion.threshold or 0.0
        left, right = embedder.embed([output, expected], task="document")
        score = _cosine(left, right)
        ok = score >= threshold
        return AssertionResult(
            kind, ok, f"similarity {score:.3f} {'>=' if ok else '<'} {threshold:.2f}"
        )
    raise InputError(f"assertion kind {kind!r} is not known")


def _change(entry: dict[str, Any], template: PromptTemplate, model: str) -> str:
    reasons = []
    if entry.get("model") != model:
        reasons.append(f"model {entry.get('model')} -> {model}")
    if entry.get("content_hash") != template.content_hash():
        reasons.append("template changed")
    return ", ".join(reasons) or "same model and template, different answer"


def _run_case(
    template: PromptTemplate,
    case: TestCase,
    *,
    model: TextModel | None,
    embedder: Embedder | None,
    recorded: RecordedOutputs | None,
    record: bool,
) -> CaseResult:
    try:
        rendered = template.render(case.variables)
    except InputError as error:
        return CaseResult(template.name, case.name, ERROR, error=str(error))

    entry = recorded.get(template.name, case.name) if recorded is not None else None
    replayed = False
    if model is not None:
        try:
            output = model.generate(rendered)
        except LlmopsError as error:
            return CaseResult(template.name, case.name, ERROR, error=str(error))
    elif entry is not None:
        output, replayed = str(entry["output"]), True
    else:
        return CaseResult(template.name, case.name, RENDERED)

    verdicts = tuple(check(a, output, embedder) for a in case.assertions)
    changed: bool | None = None
    change = ""
    if model is not None and entry is not None:
        changed = entry.get("output") != output
        change = _change(entry, template, model.name) if changed else ""
    if model is not None and record and recorded is not None:
        recorded.put(template, case, model.name, output)
    status = PASS if all(v.passed for v in verdicts) else FAIL
    return CaseResult(
        template.name,
        case.name,
        status,
        assertions=verdicts,
        output=output,
        replayed=replayed,
        changed=changed,
        change=change,
    )


def run_tests(
    templates: Iterable[PromptTemplate],
    *,
    model: TextModel | None = None,
    embedder: Embedder | None = None,
    recorded: RecordedOutputs | None = None,
    record: bool = False,
) -> TestRun:
    """Run every case of every template; see the module docstring."""
    run = TestRun(model=model.name if model is not None else None)
    run.model_checks_run = model is not None
    for template in templates:
        for case in template.tests:
            result = _run_case(
                template,
                case,
                model=model,
                embedder=embedder,
                recorded=recorded,
                record=record,
            )
            logger.info(
                "prompts.case name=%s case=%s status=%s changed=%s",
                result.template,
                result.case,
                result.status,
                result.changed,
            )
            run.results.append(result)
    if record and recorded is not None and model is not None:
        recorded.save()
    return run
