"""Tuning schedule: continuous feedback, one Cloud Scheduler job per use case
and tuning template.

Declared when `llmops:tuningSchedule` holds a cron line. On each tick a job
creates a Vertex AI pipeline job (REST `pipelineJobs.create`) from the
template published to the stack's KFP repository at `latest`, running as the
pipeline service account, with the stack's pipeline root and dataset. The
template's `count-new-feedback` task ends the run unless at least
`min_new_examples` new labelled feedback rows arrived since the last
evaluation (docs/pipelines.md), so a tick without new labels costs one short
run. The scheduler account may create pipeline jobs, act as the pipeline
account and read the templates, nothing more.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from infra import catalog
from llmops import contract

# Labels of each scheduled pipeline run, beside `pipeline` and `use-case`.
RUN_LABELS = {"platform": "llmops", "managed-by": "llmops-schedule"}


@dataclass(frozen=True)
class TuningScheduleArgs:
    """When to tune, what, and what each run is given."""

    project: str
    region: str
    job_prefix: str
    account_id: str
    schedule: str
    min_new_examples: int
    use_cases: tuple[str, ...]
    # The pipeline account runs the jobs; the scheduler account acts as it.
    pipeline_account_name: pulumi.Input[str]
    pipeline_account_email: pulumi.Input[str]
    repository: pulumi.Input[str]
    repository_url: pulumi.Input[str]
    pipeline_root: pulumi.Input[str]
    dataset_id: pulumi.Input[str]
    environment: str
    iam_services: Sequence[pulumi.Resource]
    scheduler_services: Sequence[pulumi.Resource]
    templates: tuple[str, ...] = contract.TUNING_TEMPLATES


def template_package(template: str) -> str:
    """The template's package in the KFP repository (its pipeline name)."""
    return f"{contract.TEMPLATE_PACKAGE_PREFIX}{template}"


def pipeline_job_body(
    *,
    template: str,
    use_case: str,
    repository_url: str,
    service_account: str,
    pipeline_root: str,
    dataset: str,
    min_new_examples: int,
    environment: str,
) -> dict[str, Any]:
    """The `PipelineJob` a scheduled run creates (REST field names)."""
    package = template_package(template)
    return {
        "displayName": f"{package}-{use_case}-scheduled",
        "templateUri": f"{repository_url}/{package}/{catalog.TEMPLATE_TAG_LATEST}",
        "serviceAccount": service_account,
        "labels": {
            **RUN_LABELS,
            "environment": environment,
            "pipeline": package,
            "use-case": use_case,
        },
        "runtimeConfig": {
            "gcsOutputDirectory": pipeline_root,
            "parameterValues": {
                "use_case": use_case,
                "dataset": dataset,
                "min_new_examples": min_new_examples,
            },
        },
    }


def encoded(body: Mapping[str, Any]) -> str:
    """A request body as Cloud Scheduler takes it: base64 of the JSON."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(text.encode()).decode()


class TuningSchedule(pulumi.ComponentResource):
    """The scheduler account, its grants and one job per (use case, template)."""

    account_email: pulumi.Output[str]
    job_names: dict[str, pulumi.Output[str]]
    jobs: dict[tuple[str, str], gcp.cloudscheduler.Job]

    def __init__(
        self,
        name: str,
        args: TuningScheduleArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(catalog.TYPE_TUNING_SCHEDULE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        iam = pulumi.ResourceOptions(parent=self, depends_on=list(args.iam_services))

        account = gcp.serviceaccount.Account(
            f"{name}-account",
            project=args.project,
            account_id=args.account_id,
            display_name="llmops tuning schedule",
            opts=iam,
        )
        # Create pipeline jobs, run them as the pipeline account, read templates.
        grants: list[pulumi.Resource] = [
            gcp.projects.IAMMember(
                f"{name}-vertex-user",
                project=args.project,
                role=catalog.ROLE_AIPLATFORM_USER,
                member=account.member,
                opts=iam,
            ),
            gcp.serviceaccount.IAMMember(
                f"{name}-acts-as-pipelines",
                service_account_id=args.pipeline_account_name,
                role=catalog.ROLE_SERVICE_ACCOUNT_USER,
                member=account.member,
                opts=child,
            ),
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-reads-templates",
                project=args.project,
                location=args.region,
                repository=args.repository,
                role=catalog.ROLE_ARTIFACT_READER,
                member=account.member,
                opts=child,
            ),
        ]

        url = catalog.pipeline_jobs_url(args.region, args.project)
        self.jobs = {}
        for use_case in args.use_cases:
            for template in args.templates:
                body = pulumi.Output.all(
                    args.repository_url,
                    args.pipeline_account_email,
                    args.pipeline_root,
                    args.dataset_id,
                ).apply(
                    lambda values, template=template, use_case=use_case: encoded(
                        pipeline_job_body(
                            template=template,
                            use_case=use_case,
                            repository_url=values[0],
                            service_account=values[1],
                            pipeline_root=values[2],
                            dataset=values[3],
                            min_new_examples=args.min_new_examples,
                            environment=args.environment,
                        )
                    )
                )
                # Limitation: a failed tick is not retried (creating a job is
                # not idempotent, a retry could tune twice) until runs get a
                # job id derived from the tick's time.
                self.jobs[(use_case, template)] = gcp.cloudscheduler.Job(
                    f"{name}-{use_case}-{template}",
                    project=args.project,
                    region=args.region,
                    name=f"{args.job_prefix}-tune-{use_case}-{template}",
                    description=(
                        f"Runs {template_package(template)} for {use_case} when "
                        "enough new feedback has arrived."
                    ),
                    schedule=args.schedule,
                    time_zone=catalog.SCHEDULER_TIME_ZONE,
                    attempt_deadline=catalog.SCHEDULER_ATTEMPT_DEADLINE,
                    http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                        uri=url,
                        http_method="POST",
                        headers={"Content-Type": "application/json"},
                        body=body,
                        oauth_token=gcp.cloudscheduler.JobHttpTargetOauthTokenArgs(
                            service_account_email=account.email,
                            scope=catalog.OAUTH_SCOPE_CLOUD_PLATFORM,
                        ),
                    ),
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=[*args.scheduler_services, *grants],
                    ),
                )

        self.account_email = account.email
        self.job_names = {
            f"{use_case}/{template}": job.name
            for (use_case, template), job in self.jobs.items()
        }
        self.register_outputs(
            {"accountEmail": self.account_email, "jobNames": self.job_names}
        )
