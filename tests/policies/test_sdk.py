"""The rules read the input names pulumi-gcp 10.x actually sends the engine."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from policies import resource_types as t
from policies.evaluate import evaluate, mandatory_violations

HERE = Path(__file__).resolve().parent


def _sdk_class(type_token: str) -> type:
    # "gcp:storage/bucket:Bucket" -> pulumi_gcp.storage.Bucket
    module, _, name = type_token.removeprefix("gcp:").partition("/")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        package = importlib.import_module(f"pulumi_gcp.{module}")
    return getattr(package, name.split(":")[1])


def _arguments(type_token: str) -> set[str]:
    return set(inspect.signature(_sdk_class(type_token)._internal_init).parameters)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@pytest.mark.parametrize("type_token", t.LABELLED)
def test_each_labelled_type_takes_labels(type_token: str) -> None:
    """Every type the label rule checks has a labels argument in the SDK."""
    assert "labels" in _arguments(type_token)


@pytest.mark.parametrize("type_token", sorted(t.CMEK_PATHS))
def test_each_cmek_path_starts_at_an_sdk_argument(type_token: str) -> None:
    """The CMEK rule's key path begins with a real argument of that type."""
    assert _snake(t.CMEK_PATHS[type_token][0]) in _arguments(type_token)


def _capture(mode: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, str(HERE / "sdk_capture.py"), mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_a_stack_declared_with_the_sdk_passes() -> None:
    """Resources declared in snake_case and captured by mocks pass every rule."""
    captured = _capture("compliant")
    verdicts = evaluate(captured, {"dataClassification": "confidential"})

    function = next(r for r in captured if r["type"] == t.FUNCTION_V2)
    assert (
        function["inputs"]["serviceConfig"]["ingressSettings"] == "ALLOW_INTERNAL_ONLY"
    )
    assert len(captured) == 9

    assert mandatory_violations(verdicts) == 0, [
        v["message"] for verdict in verdicts for v in verdict["violations"]
    ]


def test_faults_declared_with_the_sdk_are_found() -> None:
    """One SDK-declared fault per area is reported by the rule for it."""
    verdicts = evaluate(_capture("broken"))

    failed = {v["name"] for v in verdicts if v["violations"]}
    assert {
        "storage-uniform-access",
        "iam-no-primitive-roles",
        "functions-ingress-internal",
        "functions-trigger-identity",
        "monitoring-content-retention",
        "vector-index-streaming",
        "vector-endpoint-private",
    } <= failed
