"""The stack's configuration: read, typed and validated before any resource.

A stack file holds `gcp:project`, `gcp:region` and keys in the `llmops`
namespace. `load` reads them all, checks every one and raises a single
`StackConfigError` listing each problem with the `pulumi config set` command
that fixes it, so a first `pulumi up` fails before it creates anything.

The configuration checks shape: types, ranges, names Google Cloud accepts,
keys that must agree with each other, typos. Whether a well-formed choice is
safe (a public principal, content kept forever, a primitive role) is the
policy pack's decision (`policies/`), so `llmops plan` and `pulumi preview
--policy-pack policies` report it with the other guardrails.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi
from pulumi.runtime import config as runtime_config

from infra import catalog
from llmops import contract
from llmops.errors import ConfigError

NAMESPACE = "llmops"
KEY_PROJECT = "gcp:project"
KEY_REGION = "gcp:region"

ENVIRONMENTS = ("dev", "prod")
DATA_CLASSIFICATIONS = contract.DATA_CLASSIFICATIONS

_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,10}[a-z0-9]$")
_USE_CASE = contract.USE_CASE_NAME
_DATASET = re.compile(r"^[a-z][a-z0-9_]{0,1023}$")
_DEPLOYED_INDEX_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
# Predefined roles, and custom roles defined in a project.
_ROLE = re.compile(
    r"^(roles/[A-Za-z0-9_.]{3,64}|projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/roles/"
    r"[A-Za-z0-9_.]{3,64})$"
)
# A cron line of five fields (minute hour day-of-month month day-of-week).
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#LW-]+$")

T = TypeVar("T")


class StackConfigError(ConfigError, pulumi.RunError):
    """The stack file is incomplete or invalid; nothing was declared.

    A `pulumi.RunError`, so `pulumi up` prints the message without a traceback.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"the stack configuration has {len(problems)} problem(s):\n{lines}"
        )


@dataclass(frozen=True)
class Preset:
    """Defaults per environment: dev is cheap and destroyable, prod protected."""

    protect: bool
    retention_days: int
    content_retention_days: int
    index_shard_size: str
    index_machine_type: str
    index_min_replicas: int
    index_max_replicas: int
    function_max_instances: int
    prompt_soft_delete_days: int
    pipeline_artifact_days: int
    pii_redaction: bool


PRESETS: dict[str, Preset] = {
    "dev": Preset(
        protect=False,
        retention_days=30,
        content_retention_days=30,
        index_shard_size="SHARD_SIZE_SMALL",
        index_machine_type="e2-standard-2",
        index_min_replicas=1,
        index_max_replicas=2,
        function_max_instances=3,
        prompt_soft_delete_days=7,
        pipeline_artifact_days=30,
        pii_redaction=False,
    ),
    "prod": Preset(
        protect=True,
        retention_days=400,
        content_retention_days=90,
        index_shard_size="SHARD_SIZE_MEDIUM",
        index_machine_type="e2-standard-16",
        index_min_replicas=2,
        index_max_replicas=4,
        function_max_instances=20,
        prompt_soft_delete_days=30,
        pipeline_artifact_days=90,
        pii_redaction=True,
    ),
}


@dataclass(frozen=True)
class UseCaseConfig:
    """One use case: its name doubles as its restrict-namespace value."""

    name: str
    description: str


@dataclass(frozen=True)
class StackConfig:
    """Everything the components need, checked and with presets applied."""

    project: str
    region: str
    stack: str
    environment: str
    protect: bool
    name_prefix: str
    embedding_model: contract.EmbeddingModel
    embedding_dimensions: int
    docs_bucket_location: str
    trigger_region: str
    dataset_id: str
    dataset_location: str
    retention_days: int
    content_retention_days: int
    index_endpoint_public: bool
    index_shard_size: str
    index_machine_type: str
    index_min_replicas: int
    index_max_replicas: int
    deployed_index_id: str
    function_max_instances: int
    function_timeout_seconds: int
    function_memory: str
    pii_redaction: bool
    data_classification: str
    use_cases: tuple[UseCaseConfig, ...]
    default_use_case: str
    prompt_writers: tuple[str, ...]
    prompt_readers: tuple[str, ...]
    docs_uploaders: tuple[str, ...]
    pipeline_submitters: tuple[str, ...]
    prompt_soft_delete_days: int
    pipeline_artifact_days: int
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    # Extra project-level grants the platform team manages: role -> members.
    project_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Cron line of the continuous-feedback tuning jobs; empty means off.
    tuning_schedule: str = ""
    min_new_examples: int = 100

    @property
    def redacts(self) -> bool:
        """Whether ingestion redacts PII: asked for, or forced by classification."""
        return (
            self.pii_redaction
            or self.data_classification in contract.REDACTING_CLASSIFICATIONS
        )

    def labels(self, component: str) -> dict[str, str]:
        """The labels a resource of the named component carries."""
        return {
            **self.extra_labels,
            catalog.LABEL_PLATFORM: "llmops",
            catalog.LABEL_ENVIRONMENT: self.environment,
            catalog.LABEL_STACK: _label_value(self.stack),
            catalog.LABEL_MANAGED_BY: "pulumi",
            catalog.LABEL_COMPONENT: component,
            catalog.LABEL_USE_CASE: catalog.SHARED_USE_CASE,
        }

    def bucket_name(self, purpose: str) -> str:
        """A globally unique bucket name: project, prefix and purpose."""
        return f"{self.project}-{self.name_prefix}-{purpose}"

    def account_id(self, purpose: str) -> str:
        """A service account id (6 to 30 characters) for the given purpose."""
        return f"{self.name_prefix}-{purpose}"[:30].rstrip("-")


@dataclass(frozen=True)
class _Key:
    """One stack-file key: how to parse it and an example value for the fix."""

    name: str
    example: str
    help: str

    @property
    def full(self) -> str:
        return self.name if ":" in self.name else f"{NAMESPACE}:{self.name}"

    def fix(self, value: str | None = None) -> str:
        return f"pulumi config set {self.full} {value or self.example}"


# Every key a stack file may hold, with the example the error messages give.
KEYS: dict[str, _Key] = {
    key.full: key
    for key in (
        _Key(KEY_PROJECT, "my-project-id", "Google Cloud project id (required)."),
        _Key(
            KEY_REGION, "us-central1", "Region of every regional resource (required)."
        ),
        _Key(
            "environment",
            "dev",
            "`dev` (destroyable) or `prod` (protected); picks presets.",
        ),
        _Key(
            "protect",
            "false",
            "Override the preset's protection (to tear down a prod stack).",
        ),
        _Key("namePrefix", "llmops", "Prefix of bucket, account and function names."),
        _Key("embeddingModel", "text-embedding-005", "Vertex AI embedding model."),
        _Key(
            "embeddingDimensions",
            "768",
            "Vector size; the index and the function share it.",
        ),
        _Key("docsBucketLocation", "us-central1", "Location of the docs bucket."),
        _Key(
            "triggerRegion",
            "us-central1",
            "Eventarc region; must equal the docs bucket location.",
        ),
        _Key(
            "datasetId",
            "llmops_monitoring",
            "BigQuery dataset of the monitoring tables.",
        ),
        _Key("datasetLocation", "us-central1", "BigQuery location of the dataset."),
        _Key(
            "retentionDays",
            "30",
            "Days a monitoring partition is kept (0: no partition expiration).",
        ),
        _Key(
            "contentRetentionDays",
            "30",
            "Days prompt and response text is kept (0: no partition expiration).",
        ),
        _Key("indexEndpointPublic", "false", "Serve the index on a public endpoint."),
        _Key("indexShardSize", "SHARD_SIZE_SMALL", "Vector Search shard size."),
        _Key("indexMachineType", "e2-standard-2", "Machine type serving the index."),
        _Key("indexMinReplicas", "1", "Fewest replicas serving the index."),
        _Key("indexMaxReplicas", "2", "Most replicas autoscaling may add."),
        _Key(
            "deployedIndexId", "llmops_dev", "Id of the deployed index on its endpoint."
        ),
        _Key("functionMaxInstances", "3", "Most instances of each ingestion function."),
        _Key(
            "functionTimeoutSeconds", "300", "Ingestion function timeout (at most 540)."
        ),
        _Key("functionMemory", "1Gi", "Memory of each ingestion function instance."),
        _Key(
            "piiRedaction", "true", "Redact PII from chunks before they are embedded."
        ),
        _Key(
            "dataClassification", "internal", "Classification label of ingested data."
        ),
        _Key(
            "useCases",
            '\'[{"name": "support"}]\'',
            "Use cases (list of names or objects).",
        ),
        _Key(
            "defaultUseCase", "support", "Use case of documents uploaded without one."
        ),
        _Key(
            "promptWriters",
            "'[\"group:prompt-eng@example.com\"]'",
            "Principals who publish prompts.",
        ),
        _Key(
            "promptReaders",
            "'[\"group:apps@example.com\"]'",
            "Principals who read prompts.",
        ),
        _Key(
            "docsUploaders",
            "'[\"group:content@example.com\"]'",
            "Principals who upload, replace and remove documents.",
        ),
        _Key(
            "pipelineSubmitters",
            "'[\"group:ml@example.com\"]'",
            "Principals who run pipelines.",
        ),
        _Key(
            "promptSoftDeleteDays",
            "7",
            "Days deleted prompt objects stay restorable (7 to 90).",
        ),
        _Key("pipelineArtifactDays", "30", "Days pipeline-root artifacts are kept."),
        _Key(
            "labels",
            '\'{"team": "platform"}\'',
            "Extra labels on every labelled resource.",
        ),
        _Key(
            "projectRoles",
            '\'{"roles/aiplatform.user": ["group:operators@example.com"]}\'',
            "Extra project-level grants: role to list of members.",
        ),
        _Key(
            "tuningSchedule",
            "'0 3 * * 1'",
            "Cron line of the continuous-feedback tuning jobs (unset: off).",
        ),
        _Key(
            "minNewExamples",
            "100",
            "New labelled feedback rows a scheduled tuning run needs to tune.",
        ),
    )
}


class _Reader:
    """Parses raw stack values, collecting every problem instead of stopping."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.problems: list[str] = []

    def problem(self, key: str, what: str, fix_value: object = None) -> None:
        """Record a problem; the fix uses `fix_value` when the right one is known."""
        fix = KEYS[key].fix(None if fix_value is None else str(fix_value))
        self.problems.append(f"{key}: {what}; fix it with `{fix}`")

    def raw(self, key: str) -> Any:
        value = self.values.get(key)
        return None if value == "" else value

    def text(self, key: str, default: str | None) -> str:
        value = self.raw(key)
        if value is None:
            if default is None:
                self.problem(key, "is required and not set")
                return ""
            return default
        return str(value).strip()

    def choice(self, key: str, options: Sequence[str], default: str | None) -> str:
        value = self.text(key, default)
        if value and value not in options:
            self.problem(key, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def pattern(self, key: str, regex: re.Pattern[str], rule: str, default: str) -> str:
        value = self.text(key, default)
        if value and not regex.match(value):
            self.problem(key, f"must {rule}, got {value!r}")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        try:
            number = int(str(value))
        except ValueError:
            self.problem(key, f"must be a whole number, got {value!r}")
            return default
        if not low <= number <= high:
            self.problem(key, f"must be between {low} and {high}, got {number}")
        return number

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        self.problem(key, f"must be true or false, got {value!r}")
        return default

    def structured(self, key: str, kind: type[T], default: T) -> T:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                self.problem(key, f"must be a JSON {kind.__name__}, got {value!r}")
                return default
        if not isinstance(value, kind):
            self.problem(key, f"must be a {kind.__name__}, got {type(value).__name__}")
            return default
        return value

    def member(self, key: str, item: object) -> str | None:
        """A well-formed IAM member, or None after recording the problem.

        `allUsers` and `allAuthenticatedUsers` are well formed; whether one may
        be granted is the policy pack's call (iam-no-public-principals,
        storage-no-public-buckets).
        """
        member = str(item).strip()
        if member in catalog.PUBLIC_PRINCIPALS:
            return member
        kind, _, identity = member.partition(":")
        if kind not in catalog.PRINCIPAL_KINDS or not identity.strip():
            kinds = ", ".join(f"{k}:" for k in catalog.PRINCIPAL_KINDS)
            public = " or ".join(catalog.PUBLIC_PRINCIPALS)
            self.problem(
                key, f"entry {member!r} must start with one of {kinds} (or be {public})"
            )
            return None
        return member

    def principals(self, key: str) -> tuple[str, ...]:
        found = [self.member(key, item) for item in self.structured(key, list, [])]
        return tuple(sorted({member for member in found if member}))

    def roles(self, key: str) -> dict[str, tuple[str, ...]]:
        grants: dict[str, tuple[str, ...]] = {}
        for role, members in sorted(self.structured(key, dict, {}).items()):
            if not _ROLE.match(str(role)):
                self.problem(
                    key,
                    f"role {role!r} must be roles/NAME or projects/PROJECT/roles/NAME",
                )
                continue
            if not isinstance(members, list) or not members:
                self.problem(key, f"role {role!r} must map to a non-empty list")
                continue
            found = {self.member(key, item) for item in members}
            grants[str(role)] = tuple(sorted(m for m in found if m))
        return grants

    def cron(self, key: str) -> str:
        line = " ".join(self.text(key, "").split())
        if line and (
            len(line.split()) != 5
            or not all(_CRON_FIELD.match(part) for part in line.split())
        ):
            self.problem(
                key,
                f"must be a cron line of five fields (minute hour day month "
                f"weekday), got {line!r}",
            )
        return line


def _label_value(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63]


def _unknown_keys(values: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in sorted(values):
        if key.startswith(f"{NAMESPACE}:") and key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            problems.append(
                f"{key}: is not a setting of this platform; {hint}remove it with "
                f"`pulumi config rm {key}`"
            )
    return problems


def load(values: Mapping[str, Any], stack: str) -> StackConfig:
    """Validate raw stack values (`namespace:key` to value) into a StackConfig.

    Raises StackConfigError naming every bad key and the command that fixes it.
    """
    read = _Reader(values)
    read.problems.extend(_unknown_keys(values))
    key = f"{NAMESPACE}:"

    # Project, region and environment first: every default below follows them.
    project = read.pattern(
        KEY_PROJECT,
        _PROJECT,
        "be a project id (6 to 30 lowercase letters, digits, -)",
        "",
    )
    if not project:
        read.problem(KEY_PROJECT, "is required and not set")
    region = read.choice(KEY_REGION, catalog.REGIONS, None)
    environment = read.choice(key + "environment", ENVIRONMENTS, None)
    preset = PRESETS.get(environment, PRESETS["dev"])
    prefix = read.pattern(
        key + "namePrefix",
        _PREFIX,
        "hold 2 to 12 lowercase letters, digits or -",
        "llmops",
    )

    # The embedding model fixes the index dimension and the function's setting.
    vertex_models = sorted(
        name
        for name, model in contract.EMBEDDING_MODELS.items()
        if model.backend == "vertex"
    )
    model_name = read.choice(
        key + "embeddingModel", vertex_models, "text-embedding-005"
    )
    model = contract.EMBEDDING_MODELS.get(
        model_name, contract.EMBEDDING_MODELS[vertex_models[0]]
    )
    dimensions = read.integer(
        key + "embeddingDimensions", model.dimensions, 1, model.dimensions
    )
    if dimensions != model.dimensions and not model.reducible:
        read.problem(
            key + "embeddingDimensions",
            f"{model.name} gives exactly {model.dimensions} dimensions, "
            f"got {dimensions}",
            model.dimensions,
        )

    # The storage trigger must live where the docs bucket lives.
    docs_location = read.text(key + "docsBucketLocation", region or "")
    if region and docs_location and not catalog.location_spans(docs_location, region):
        read.problem(
            key + "docsBucketLocation",
            f"{docs_location!r} neither is nor spans the region {region!r}, so the "
            "ingestion functions cannot take its events; use the region or a multi-"
            "region that spans it",
            region,
        )
    expected_trigger = catalog.trigger_region(docs_location) if docs_location else ""
    trigger = read.text(key + "triggerRegion", expected_trigger).lower()
    if docs_location and trigger != expected_trigger:
        read.problem(
            key + "triggerRegion",
            f"{trigger!r} does not match the docs bucket location {docs_location!r}; "
            f"a storage trigger must be in {expected_trigger!r} (or remove the key)",
            expected_trigger,
        )

    # Retention: content (prompts, responses) never outlives the rows around it.
    # 0 means no partition expiration; the policy pack judges that for content.
    retention = read.integer(key + "retentionDays", preset.retention_days, 0, 3650)
    content_retention = read.integer(
        key + "contentRetentionDays",
        min(preset.content_retention_days, retention or preset.content_retention_days),
        0,
        3650,
    )
    if retention and content_retention > retention:
        read.problem(
            key + "contentRetentionDays",
            f"{content_retention} exceeds retentionDays ({retention})",
            retention,
        )

    # Vector Search serving: shard size decides which machines may serve it.
    shard_size = read.choice(
        key + "indexShardSize", catalog.INDEX_SHARD_SIZES, preset.index_shard_size
    )
    machines = catalog.INDEX_MACHINE_TYPES.get(shard_size, ())
    default_machine = (
        preset.index_machine_type
        if preset.index_machine_type in machines
        else (machines[0] if machines else "")
    )
    machine = read.choice(key + "indexMachineType", machines, default_machine)
    min_replicas = read.integer(
        key + "indexMinReplicas", preset.index_min_replicas, 1, 100
    )
    max_replicas = read.integer(
        key + "indexMaxReplicas", max(preset.index_max_replicas, min_replicas), 1, 100
    )
    if max_replicas < min_replicas:
        read.problem(
            key + "indexMaxReplicas",
            f"{max_replicas} is below indexMinReplicas ({min_replicas})",
            min_replicas,
        )
    deployed_index_id = read.pattern(
        key + "deployedIndexId",
        _DEPLOYED_INDEX_ID,
        "start with a letter and hold only letters, digits and underscores",
        f"{prefix}_{environment or 'dev'}".replace("-", "_"),
    )

    # The ingestion functions.
    max_instances = read.integer(
        key + "functionMaxInstances",
        preset.function_max_instances,
        1,
        catalog.FUNCTION_MAX_INSTANCES_LIMIT,
    )
    timeout = read.integer(
        key + "functionTimeoutSeconds",
        300,
        1,
        catalog.FUNCTION_MAX_EVENT_TIMEOUT_SECONDS,
    )
    memory = read.choice(key + "functionMemory", catalog.FUNCTION_MEMORY_SIZES, "1Gi")

    # Use cases: each name is a restrict value and part of a service account id.
    use_cases = _use_cases(read)
    names = [use_case.name for use_case in use_cases]
    default_use_case = read.text(
        key + "defaultUseCase", names[0] if names else "shared"
    )
    if names and default_use_case not in names:
        read.problem(
            key + "defaultUseCase",
            f"{default_use_case!r} is not one of the use cases ({', '.join(names)})",
            names[0],
        )

    labels = _labels(read)
    dataset_id = read.pattern(
        key + "datasetId",
        _DATASET,
        "hold lowercase letters, digits and underscores and start with a letter",
        f"{prefix.replace('-', '_')}_monitoring",
    )
    config = StackConfig(
        project=project,
        region=region,
        stack=stack,
        environment=environment,
        protect=read.flag(key + "protect", preset.protect),
        name_prefix=prefix,
        embedding_model=model,
        embedding_dimensions=dimensions,
        docs_bucket_location=docs_location,
        trigger_region=trigger,
        dataset_id=dataset_id,
        dataset_location=read.text(key + "datasetLocation", region or ""),
        retention_days=retention,
        content_retention_days=content_retention,
        index_endpoint_public=read.flag(key + "indexEndpointPublic", False),
        index_shard_size=shard_size,
        index_machine_type=machine,
        index_min_replicas=min_replicas,
        index_max_replicas=max_replicas,
        deployed_index_id=deployed_index_id,
        function_max_instances=max_instances,
        function_timeout_seconds=timeout,
        function_memory=memory,
        pii_redaction=read.flag(key + "piiRedaction", preset.pii_redaction),
        data_classification=read.choice(
            key + "dataClassification", DATA_CLASSIFICATIONS, "internal"
        ),
        use_cases=use_cases,
        default_use_case=default_use_case,
        prompt_writers=read.principals(key + "promptWriters"),
        prompt_readers=read.principals(key + "promptReaders"),
        docs_uploaders=read.principals(key + "docsUploaders"),
        pipeline_submitters=read.principals(key + "pipelineSubmitters"),
        prompt_soft_delete_days=read.integer(
            key + "promptSoftDeleteDays", preset.prompt_soft_delete_days, 7, 90
        ),
        pipeline_artifact_days=read.integer(
            key + "pipelineArtifactDays", preset.pipeline_artifact_days, 1, 3650
        ),
        extra_labels=labels,
        project_roles=read.roles(key + "projectRoles"),
        tuning_schedule=read.cron(key + "tuningSchedule"),
        min_new_examples=read.integer(key + "minNewExamples", 100, 0, 1_000_000),
    )
    if read.problems:
        raise StackConfigError(read.problems)
    return config


def _use_cases(read: _Reader) -> tuple[UseCaseConfig, ...]:
    key = f"{NAMESPACE}:useCases"
    found: dict[str, UseCaseConfig] = {}
    for index, item in enumerate(read.structured(key, list, [])):
        entry = {"name": item} if isinstance(item, str) else item
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            read.problem(key, f"entry {index} must be a name or an object with a name")
            continue
        name = entry["name"]
        if not _USE_CASE.fullmatch(name):
            read.problem(
                key,
                f"use case {name!r} must be {contract.USE_CASE_RULE}",
            )
        elif name in found:
            read.problem(key, f"use case {name!r} is listed twice")
        else:
            found[name] = UseCaseConfig(name, str(entry.get("description", "")))
    return tuple(found[name] for name in sorted(found))


def _labels(read: _Reader) -> dict[str, str]:
    key = f"{NAMESPACE}:labels"
    labels: dict[str, str] = {}
    for name, value in sorted(read.structured(key, dict, {}).items()):
        text = str(value)
        if name in catalog.REQUIRED_LABELS:
            read.problem(key, f"label {name!r} is set by the platform; remove it")
        elif not _LABEL_KEY.match(name) or not _LABEL_VALUE.match(text):
            read.problem(
                key,
                f"label {name}={text!r} must use lowercase letters, digits, - and _ "
                "(keys start with a letter; at most 63 characters each)",
            )
        else:
            labels[name] = text
    return labels


def stack_values() -> dict[str, Any]:
    """Every config value the Pulumi engine passed to this program."""
    values: dict[str, Any] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    return values


def from_pulumi() -> StackConfig:
    """Read and validate the running stack's configuration."""
    return load(stack_values(), pulumi.get_stack())


def keys_reference() -> list[tuple[str, str, str]]:
    """(key, example, meaning) for each key, for the docs and the CLI."""
    return [(k.full, k.example, k.help) for k in KEYS.values()]
