"""The stack's options: DLP redaction, the tuning schedule, the match endpoint,
extra project roles and the pipeline account's evaluation rows."""

from __future__ import annotations

import base64
import json
from typing import Any

import pulumi
import pytest

from infra import catalog
from infra.config import StackConfigError, load
from llmops import contract
from llmops.protection import DlpRedactor, RedactionPolicy, deidentify_template_config
from llmops.settings import Settings
from tests.infra.declared import platform_resources

INSPECT = "gcp:dataloss/preventionInspectTemplate:PreventionInspectTemplate"
DEIDENTIFY = "gcp:dataloss/preventionDeidentifyTemplate:PreventionDeidentifyTemplate"
JOB = "gcp:cloudscheduler/job:Job"
SERVICE = "gcp:projects/service:Service"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
FUNCTION = "gcp:cloudfunctionsv2/function:Function"
DLP_ROLES = {
    catalog.ROLE_DLP_USER,
    catalog.ROLE_DLP_INSPECT_TEMPLATES_READER,
    catalog.ROLE_DLP_DEIDENTIFY_TEMPLATES_READER,
}


def _of(registrations: list[dict[str, Any]], type_token: str) -> list[dict[str, Any]]:
    return [r for r in registrations if r["type"] == type_token]


def _services(registrations: list[dict[str, Any]]) -> set[str]:
    return {r["inputs"]["service"] for r in _of(registrations, SERVICE)}


def _envs(registrations: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        r["inputs"]["serviceConfig"]["environmentVariables"]
        for r in _of(registrations, FUNCTION)
    ]


def with_registrations(
    monitor: Any, platform: Any, *outputs: Any, check: Any
) -> pulumi.Output[None]:
    """Run `check(registrations, *values)` once every resource is registered
    and the given outputs are known."""
    resources = platform_resources(platform)

    def run(args: list[Any]) -> None:
        urns, values = args[: len(resources)], args[len(resources) :]
        check([monitor.registrations[urn] for urn in urns], *values)

    return pulumi.Output.all(*[r.urn for r in resources], *outputs).apply(run)


def _roles_of(registrations: list[dict[str, Any]], member: str) -> set[str]:
    return {
        r["inputs"]["role"]
        for r in _of(registrations, PROJECT_MEMBER)
        if r["inputs"]["member"] == member
    }


@pytest.mark.parametrize(
    "overrides",
    [{"piiRedaction": "true"}, {"dataClassification": "restricted"}],
    ids=["asked", "classification"],
)
@pulumi.runtime.test
def test_redaction_declares_dlp_templates_the_functions_can_use(
    overrides: dict[str, str],
    declare_stack: Any,
    stack_values: Any,
    mock_monitor: Any,
) -> Any:
    """With redaction on, the DLP API is enabled, both templates exist, the
    functions get names DlpRedactor accepts, and the runtime may use them."""
    platform = declare_stack(stack_values["dev"], **overrides)

    def check(registrations: list[dict[str, Any]], runtime: str) -> None:
        assert _roles_of(registrations, f"serviceAccount:{runtime}") >= DLP_ROLES
        assert catalog.API_DLP in _services(registrations)
        (inspect,) = _of(registrations, INSPECT)
        (deidentify,) = _of(registrations, DEIDENTIFY)
        parent = "projects/acme-llmops-dev/locations/us-central1"
        assert inspect["inputs"]["parent"] == deidentify["inputs"]["parent"] == parent
        for env in _envs(registrations):
            settings = Settings.from_env(env)
            redactor = DlpRedactor(
                object(),  # type: ignore[arg-type]
                project=settings.project or "",
                location=settings.location or "",
                inspect_template=settings.dlp_inspect_template or "",
                deidentify_template=settings.dlp_deidentify_template or "",
            )
            assert redactor.inspect_template == (
                f"{parent}/inspectTemplates/llmops-ingest-inspect"
            )
            assert redactor.deidentify_template == (
                f"{parent}/deidentifyTemplates/llmops-ingest-deidentify"
            )

    return with_registrations(
        mock_monitor, platform, platform.ingestion.runtime_account_email, check=check
    )


@pulumi.runtime.test
def test_the_dlp_templates_carry_the_runtime_policy(
    declare_stack: Any, stack_values: Any, settled: Any
) -> Any:
    """The de-identify template is deidentify_template_config of the default
    policy (masking with the info type name), and the inspect template finds
    every type the platform knows, URL_CREDENTIALS as a custom regex type."""
    platform = declare_stack(stack_values["dev"], piiRedaction="true")
    expected = deidentify_template_config(RedactionPolicy())

    def check(registrations: list[dict[str, Any]]) -> None:
        (inspect,) = _of(registrations, INSPECT)
        (deidentify,) = _of(registrations, DEIDENTIFY)
        config = deidentify["inputs"]["deidentifyConfig"]
        (only,) = config["infoTypeTransformations"]["transformations"]
        (rest,) = expected["infoTypeTransformations"]["transformations"]
        assert "replaceWithInfoTypeConfig" in rest["primitiveTransformation"]
        assert only["primitiveTransformation"] == {"replaceWithInfoTypeConfig": True}
        assert "infoTypes" not in only
        found = inspect["inputs"]["inspectConfig"]
        names = {t["name"] for t in found["infoTypes"]}
        (custom,) = found["customInfoTypes"]
        assert custom["infoType"]["name"] == "URL_CREDENTIALS"
        assert custom["regex"]["groupIndexes"] == [1]
        assert "URL_CREDENTIALS" not in names
        assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON_NAME", "IBAN_CODE"} <= names

    return settled(platform_resources(platform), check)


@pulumi.runtime.test
def test_without_redaction_there_is_no_dlp(
    declare_stack: Any, stack_values: Any, settled: Any
) -> Any:
    """The dev stack (internal data, redaction off) declares no DLP at all."""
    platform = declare_stack(stack_values["dev"])
    assert platform.data_protection is None

    def check(registrations: list[dict[str, Any]]) -> None:
        assert catalog.API_DLP not in _services(registrations)
        assert not _of(registrations, INSPECT) and not _of(registrations, DEIDENTIFY)
        for env in _envs(registrations):
            assert contract.ENV_DLP_INSPECT_TEMPLATE not in env
            assert contract.ENV_DLP_DEIDENTIFY_TEMPLATE not in env
        roles = {r["inputs"]["role"] for r in _of(registrations, PROJECT_MEMBER)}
        assert not roles & DLP_ROLES

    return settled(platform_resources(platform), check)


@pulumi.runtime.test
def test_a_public_endpoint_is_where_the_functions_query(
    declare_stack: Any, stack_values: Any
) -> Any:
    """With a public endpoint the functions get its domain as the match
    endpoint; with a private one the variable is left unset."""
    public = declare_stack(stack_values["dev"], indexEndpointPublic="true")
    domain = public.vector_search.public_endpoint_domain

    def check(args: list[Any]) -> None:
        expected, *configs = args
        assert expected.endswith(".vdb.vertexai.goog")
        for service in configs:
            env = service["environment_variables"]
            assert env[contract.ENV_MATCH_ENDPOINT] == expected
            assert Settings.from_env(env).match_endpoint == expected

    return pulumi.Output.all(
        domain, *[f.service_config for f in public.ingestion.functions.values()]
    ).apply(check)


@pulumi.runtime.test
def test_a_private_endpoint_leaves_the_match_endpoint_unset(
    declare_stack: Any, stack_values: Any
) -> Any:
    """The network team sets the PSC address; the stack sets nothing."""
    platform = declare_stack(stack_values["dev"])

    def check(configs: list[Any]) -> None:
        for service in configs:
            assert contract.ENV_MATCH_ENDPOINT not in service["environment_variables"]

    return pulumi.Output.all(
        *[f.service_config for f in platform.ingestion.functions.values()]
    ).apply(check)


def _body(job: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(job["inputs"]["httpTarget"]["body"]))


@pulumi.runtime.test
def test_the_tuning_schedule_runs_each_template_for_each_use_case(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """One job per (use case, tuning template) posts a pipeline job to Vertex
    AI, as the pipeline account, from the published template, with the
    stack's pipeline root and dataset and the configured threshold."""
    platform = declare_stack(
        stack_values["dev"], tuningSchedule="0  3 * * 1", minNewExamples="25"
    )
    templates = platform.pipeline_templates

    def check(
        registrations: list[dict[str, Any]],
        repository: str,
        pipeline_email: str,
        root: str,
        scheduler_email: str,
    ) -> None:
        jobs = _of(registrations, JOB)
        assert len(jobs) == 2 * len(contract.TUNING_TEMPLATES)
        seen = set()
        for job in jobs:
            inputs = job["inputs"]
            target = inputs["httpTarget"]
            assert inputs["schedule"] == "0 3 * * 1"
            assert inputs["region"] == "us-central1"
            assert target["httpMethod"] == "POST"
            assert target["uri"] == (
                "https://us-central1-aiplatform.googleapis.com/v1/projects/"
                "acme-llmops-dev/locations/us-central1/pipelineJobs"
            )
            assert target["headers"] == {"Content-Type": "application/json"}
            assert target["oauthToken"]["serviceAccountEmail"] == scheduler_email
            body = _body(job)
            values = body["runtimeConfig"]["parameterValues"]
            use_case, package = values["use_case"], body["labels"]["pipeline"]
            seen.add((use_case, package))
            assert body["templateUri"] == f"{repository}/{package}/latest"
            assert body["serviceAccount"] == pipeline_email
            assert body["runtimeConfig"]["gcsOutputDirectory"] == root
            assert values == {
                "use_case": use_case,
                "dataset": "llmops_monitoring",
                "min_new_examples": 25,
            }
            assert body["labels"]["use-case"] == use_case
            assert body["displayName"] == f"{package}-{use_case}-scheduled"
        assert seen == {
            (use_case, f"llmops-{template}")
            for use_case in ("support", "sales-assist")
            for template in contract.TUNING_TEMPLATES
        }
        assert catalog.API_CLOUD_SCHEDULER in _services(registrations)

    assert platform.tuning_schedule is not None
    return with_registrations(
        mock_monitor,
        platform,
        templates.repository_url,
        templates.account_email,
        templates.pipeline_root,
        platform.tuning_schedule.account_email,
        check=check,
    )


@pulumi.runtime.test
def test_the_scheduler_account_may_only_start_pipeline_runs(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """The scheduler account creates pipeline jobs, acts as the pipeline
    account (on that account only) and reads the templates; each job waits
    for those grants and the Scheduler API."""
    platform = declare_stack(stack_values["dev"], tuningSchedule="0 3 * * *")
    assert platform.tuning_schedule is not None
    schedule = platform.tuning_schedule

    def check(
        registrations: list[dict[str, Any]], scheduler: str, pipeline_name: str
    ) -> None:
        member = f"serviceAccount:{scheduler}"
        assert _roles_of(registrations, member) == {catalog.ROLE_AIPLATFORM_USER}
        mine = [r for r in registrations if r["inputs"].get("member") == member]
        by_type = {r["type"]: r["inputs"] for r in mine}
        acts_as = by_type["gcp:serviceaccount/iAMMember:IAMMember"]
        assert acts_as["serviceAccountId"] == pipeline_name
        assert acts_as["role"] == catalog.ROLE_SERVICE_ACCOUNT_USER
        reader = by_type["gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"]
        assert reader["role"] == catalog.ROLE_ARTIFACT_READER
        assert len(mine) == 3
        grant_urns = {r["urn"] for r in mine}
        scheduler_api = next(
            r["urn"]
            for r in _of(registrations, SERVICE)
            if r["inputs"]["service"] == catalog.API_CLOUD_SCHEDULER
        )
        for job in _of(registrations, JOB):
            assert grant_urns | {scheduler_api} <= set(job["dependencies"])

    return with_registrations(
        mock_monitor,
        platform,
        schedule.account_email,
        platform.pipeline_templates.account_name,
        check=check,
    )


@pulumi.runtime.test
def test_without_a_schedule_there_are_no_jobs(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """The schedule is off by default: no jobs, no scheduler API."""
    platform = declare_stack(stack_values["dev"])
    assert platform.tuning_schedule is None

    def check(registrations: list[dict[str, Any]]) -> None:
        assert not _of(registrations, JOB)
        assert catalog.API_CLOUD_SCHEDULER not in _services(registrations)

    return with_registrations(mock_monitor, platform, check=check)


@pytest.mark.parametrize("line", ["0 3 * *", "every monday", "0 3 * * 1 2026"])
def test_a_malformed_schedule_is_refused(stack_values: Any, line: str) -> None:
    """A tuning schedule that is not five cron fields fails before any resource."""
    values = {**stack_values["dev"], "llmops:tuningSchedule": line}
    with pytest.raises(StackConfigError) as raised:
        load(values, "dev")
    (problem,) = raised.value.problems
    assert problem.startswith("llmops:tuningSchedule: must be a cron line")
    assert "pulumi config set llmops:tuningSchedule" in problem


@pulumi.runtime.test
def test_project_roles_are_granted_on_the_project(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """Each (role, member) of projectRoles is one project IAM member in the
    ProjectRoles component, after the IAM APIs are enabled."""
    platform = declare_stack(
        stack_values["dev"],
        projectRoles='{"roles/aiplatform.user": ["group:ops@example.com", '
        '"user:a@example.com"], "roles/logging.viewer": ["group:ops@example.com"]}',
    )
    assert platform.project_roles is not None

    def check(registrations: list[dict[str, Any]], component_urn: str) -> None:
        granted = {
            (r["inputs"]["role"], r["inputs"]["member"])
            for r in _of(registrations, PROJECT_MEMBER)
            if r["parent"] == component_urn
        }
        assert granted == {
            ("roles/aiplatform.user", "group:ops@example.com"),
            ("roles/aiplatform.user", "user:a@example.com"),
            ("roles/logging.viewer", "group:ops@example.com"),
        }
        iam_api = next(
            r["urn"]
            for r in _of(registrations, SERVICE)
            if r["inputs"]["service"] == catalog.API_IAM
        )
        for grant in _of(registrations, PROJECT_MEMBER):
            if grant["parent"] == component_urn:
                assert iam_api in grant["dependencies"]
                assert grant["inputs"]["project"] == "acme-llmops-dev"

    return with_registrations(
        mock_monitor, platform, platform.project_roles.urn, check=check
    )


@pulumi.runtime.test
def test_the_pipeline_account_writes_evaluation_rows_only(
    declare_stack: Any, stack_values: Any, mock_monitor: Any
) -> Any:
    """The pipeline account is a data editor on the evaluations table and on
    no other table."""
    platform = declare_stack(stack_values["dev"])

    def check(registrations: list[dict[str, Any]], email: str) -> None:
        edits = [
            r["inputs"]["tableId"]
            for r in _of(registrations, "gcp:bigquery/iamMember:IamMember")
            if r["inputs"]["member"] == f"serviceAccount:{email}"
            and r["inputs"]["role"] == catalog.ROLE_BIGQUERY_DATA_EDITOR
        ]
        assert edits == [contract.TABLE_EVALUATIONS]

    return with_registrations(
        mock_monitor, platform, platform.pipeline_templates.account_email, check=check
    )
