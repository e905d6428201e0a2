"""The pack as Pulumi runs it: a server on 127.0.0.1 answering the engine."""

from __future__ import annotations

import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from policy_stacks import compliant_stack, find
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policies.evaluate import pack_config
from policies.pack import ALL, PACK_NAME, initial_config
from policies.rule import settings_of

ROOT = Path(__file__).resolve().parents[2]


def _struct(value: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    json_format.ParseDict(value, message)
    return message


@pytest.fixture
def analyzer(tmp_path) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack started as Pulumi's runner starts it, stopped after the test."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi.policy", "127.0.0.1:1", str(ROOT / "policies")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the pack printed no port within 30 s"
        assert process.stdout is not None
        port = int(process.stdout.readline().decode().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_pack_lists_every_rule_with_its_level(analyzer) -> None:
    """The running pack reports every rule, its enforcement and initial config."""
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)

    assert info.name == PACK_NAME
    assert [policy.name for policy in info.policies] == [rule.name for rule in ALL]
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels["storage-uniform-access"] == analyzer_pb2.MANDATORY
    assert levels["vector-index-distance"] == analyzer_pb2.ADVISORY
    assert set(info.initialConfig) == set(initial_config())


def test_pack_reports_a_violation_to_the_engine(analyzer) -> None:
    """Analyzing a non-uniform bucket yields that rule's diagnostic naming it."""
    request = analyzer_pb2.AnalyzeRequest(
        type="gcp:storage/bucket:Bucket",
        name="docs",
        urn="urn:pulumi:dev::llmops::gcp:storage/bucket:Bucket::docs",
        properties=_struct(
            {"uniformBucketLevelAccess": False, "publicAccessPrevention": "enforced"}
        ),
    )

    response = analyzer.Analyze(request, timeout=10)

    names = [d.policyName for d in response.diagnostics]
    assert "storage-uniform-access" in names
    message = next(
        d.message
        for d in response.diagnostics
        if d.policyName == "storage-uniform-access"
    )
    assert "'docs'" in message and "uniform_bucket_level_access=True" in message


def test_pack_applies_the_policy_config(analyzer) -> None:
    """A public endpoint passes once the config sent by the engine allows it."""
    endpoint = analyzer_pb2.AnalyzeRequest(
        type="gcp:vertex/aiIndexEndpoint:AiIndexEndpoint",
        name="chunks-endpoint",
        urn="urn:pulumi:dev::llmops::gcp:vertex/aiIndexEndpoint:AiIndexEndpoint::e",
        properties=_struct({"publicEndpointEnabled": True, "region": "europe-west1"}),
    )
    before = analyzer.Analyze(endpoint, timeout=10)

    config = pack_config({"allowPublicEndpoint": True})
    analyzer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                name: analyzer_pb2.PolicyConfig(
                    enforcementLevel=analyzer_pb2.MANDATORY, properties=_struct(body)
                )
                for name, body in config.items()
            }
        ),
        timeout=10,
    )
    after = analyzer.Analyze(endpoint, timeout=10)

    assert "vector-endpoint-private" in [d.policyName for d in before.diagnostics]
    assert "vector-endpoint-private" not in [d.policyName for d in after.diagnostics]


def test_pack_runs_stack_rules(analyzer) -> None:
    """The engine's stack analysis reports a content table kept forever."""
    stack = compliant_stack()
    find(stack, "monitoring")["defaultPartitionExpirationMs"] = None
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=entry["type"],
                name=entry["name"],
                urn=entry["urn"],
                properties=_struct(
                    {k: v for k, v in entry["inputs"].items() if v is not None}
                ),
            )
            for entry in stack
        ]
    )

    response = analyzer.AnalyzeStack(request, timeout=10)

    found = [
        (d.policyName, d.urn)
        for d in response.diagnostics
        if d.enforcementLevel == analyzer_pb2.MANDATORY
    ]
    assert found == [
        (
            "monitoring-content-retention",
            find_urn(stack, "interactions"),
        )
    ]


def find_urn(stack: list[dict], name: str) -> str:
    """The URN of the named resource."""
    return next(entry["urn"] for entry in stack if entry["name"] == name)


def test_initial_config_holds_each_rules_defaults() -> None:
    """The pack's initial config gives every setting a rule reads its default."""
    config = initial_config()

    for rule in ALL:
        assert set(config.get(rule.name, {})) == set(settings_of(rule))
    assert config["governance-required-labels"]["requiredLabels"] == [
        "team",
        "use-case",
        "environment",
        "cost-centre",
    ]


def test_every_rule_says_why_and_how_to_fix() -> None:
    """Each rule has a unique name, a level, a reason and remediation steps."""
    names = [rule.name for rule in ALL]

    assert len(names) == len(set(names)) >= 20
    for rule in ALL:
        assert rule.enforcement_level is not None
        assert len(rule.description) > 60, rule.name
        assert rule.remediation_steps and len(rule.remediation_steps) > 30, rule.name


def test_the_reference_documents_every_rule_and_setting() -> None:
    """docs/policies.md names every rule of the pack and every setting."""
    from policies.config import SETTINGS

    text = (ROOT / "docs" / "policies.md").read_text()

    for rule in ALL:
        assert f"`{rule.name}`" in text, rule.name
    for key in SETTINGS:
        assert f"`{key}`" in text, key
