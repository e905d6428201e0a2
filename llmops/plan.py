"""The offline plan: run the Pulumi program from a stack file under mocks.

No Pulumi engine or provider runs: `capture` executes the program with
Pulumi's mock monitor, records every resource it registers (type, name, URN,
inputs in the engine's camelCase, dependencies, parent, protection, custom
timeouts) and resolves the stack outputs. The provider-computed values that
the program reads (ids, emails, agent identities) come from `PlatformMocks`,
derived from the names alone, so the same input always gives the same plan.

This is the one runtime module that imports Pulumi; it does so lazily, so the
rest of the package works without the `infra` extra installed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import runpy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from llmops.errors import ConfigError

logger = logging.getLogger(__name__)

# Input keys whose values are too long to show in the text plan.
_LONG_INPUTS = frozenset({"schema", "content", "view.query", "labels"})
_TEXT_VALUE_LIMIT = 72


@dataclass(frozen=True)
class PlannedResource:
    """One resource as the program registered it."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]
    protect: bool = False
    custom_timeouts: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The resource as a JSON object (camelCase inputs, URNs for links)."""
        return {
            "type": self.type,
            "name": self.name,
            "urn": self.urn,
            "parent": self.parent,
            "custom": self.custom,
            "inputs": self.inputs,
            "dependencies": list(self.dependencies),
            "protect": self.protect,
            "customTimeouts": self.custom_timeouts,
        }


@dataclass(frozen=True)
class Plan:
    """Every resource a stack would create, in tree order, and its outputs."""

    project: str
    stack: str
    resources: tuple[PlannedResource, ...]
    outputs: dict[str, Any]

    def of_type(self, type_token: str) -> list[PlannedResource]:
        """The resources of one type, e.g. `gcp:storage/bucket:Bucket`."""
        return [r for r in self.resources if r.type == type_token]

    def by_urn(self, urn: str) -> PlannedResource:
        """The resource with this URN, or raise KeyError."""
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def named(self, name: str) -> PlannedResource:
        """The resource with this logical name, or raise KeyError."""
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The plan as one JSON object; `resources` lists custom resources."""
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": [r.to_json() for r in self.resources if r.custom],
            "components": [r.to_json() for r in self.resources if not r.custom],
            "outputs": self.outputs,
        }

    def dumps(self) -> str:
        """The JSON plan, byte-identical for identical inputs."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    def render(self) -> str:
        """A readable plan: each resource, its key inputs and its dependencies."""
        names = {r.urn: f"{r.type.rsplit(':', 1)[-1]}:{r.name}" for r in self.resources}
        depth = {r.urn: _depth(r, self) for r in self.resources}
        custom = [r for r in self.resources if r.custom]
        header = (
            f"plan for stack {self.stack} of {self.project}: {len(custom)} resources "
            f"in {len(self.resources) - len(custom)} components, "
            f"{len(self.outputs)} outputs"
        )
        lines = [header, ""]
        for resource in self.resources:
            indent = "  " * depth[resource.urn]
            flags = [" [protected]" if resource.protect else ""]
            if resource.custom_timeouts:
                timeouts = ", ".join(
                    f"{k}={v}" for k, v in sorted(resource.custom_timeouts.items())
                )
                flags.append(f" [timeouts {timeouts}]")
            lines.append(f"{indent}+ {resource.type}  {resource.name}{''.join(flags)}")
            for path, value in _flatten(resource.inputs):
                if path in _LONG_INPUTS or path.startswith("labels."):
                    continue
                lines.append(f"{indent}    {path} = {_short(value)}")
            if "labels" in resource.inputs:
                labels = ", ".join(sorted(resource.inputs["labels"]))
                lines.append(f"{indent}    labels: {labels}")
            others = [d for d in resource.dependencies if d in names]
            if others:
                shown = ", ".join(sorted(names[d] for d in others))
                lines.append(f"{indent}    depends on: {shown}")
        lines.append("")
        lines.append("outputs:")
        for key, value in sorted(self.outputs.items()):
            lines.append(f"  {key} = {json.dumps(value, sort_keys=True)}")
        return "\n".join(lines) + "\n"


def _depth(resource: PlannedResource, plan: Plan) -> int:
    depth = 0
    parents = {r.urn: r.parent for r in plan.resources}
    parent = resource.parent
    while parent in parents:
        depth += 1
        parent = parents[parent]
    return depth


def _flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if path in _LONG_INPUTS:
            yield path, value
            return
        for key in sorted(value):
            yield from _flatten(value[key], f"{path}.{key}" if path else key)
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{path}[{index}]")
    else:
        yield path, value


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    if len(text) > _TEXT_VALUE_LIMIT:
        return text[: _TEXT_VALUE_LIMIT - 3] + "..."
    return text


# Google-managed agents' domains, by the service they act for.
_AGENT_DOMAINS = {
    "aiplatform.googleapis.com": "gcp-sa-aiplatform",
    "eventarc.googleapis.com": "gcp-sa-eventarc",
    "pubsub.googleapis.com": "gcp-sa-pubsub",
}


def _number(text: str, digits: int) -> str:
    """A stable decimal number derived from a name (fake resource numbers)."""
    value = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    return str(value % (9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


def platform_mocks(project: str, region: str) -> Any:
    """Mocks answering the resources and calls the platform's program makes."""
    from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

    class PlatformMocks(Mocks):
        """Provider stand-in: outputs follow from inputs and names alone."""

        def __init__(self) -> None:
            self.project = project
            self.region = region
            self.project_number = _number(project, 12)

        def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
            if args.token == "gcp:organizations/getProject:getProject":
                pid = args.args.get("projectId") or self.project
                return {"projectId": pid, "number": self.project_number, "name": pid}
            if args.token == (
                "gcp:storage/getProjectServiceAccount:getProjectServiceAccount"
            ):
                email = (
                    f"service-{self.project_number}"
                    "@gs-project-accounts.iam.gserviceaccount.com"
                )
                return {
                    "id": email,
                    "emailAddress": email,
                    "member": f"serviceAccount:{email}",
                    "project": args.args.get("project") or self.project,
                }
            raise ConfigError(
                f"the offline plan cannot answer the call {args.token}; add it to "
                "llmops.plan.platform_mocks"
            )

        def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
            inputs = dict(args.inputs)
            state = dict(inputs)
            proj = inputs.get("project") or self.project
            where = inputs.get("region") or inputs.get("location") or self.region
            typ = args.typ
            if typ == "gcp:storage/bucket:Bucket":
                name = inputs.get("name") or args.name
                state.update(name=name, url=f"gs://{name}")
                return name, state
            if typ == "gcp:storage/bucketObject:BucketObject":
                state["outputName"] = inputs["name"]
                return f"{inputs['bucket']}-{inputs['name']}", state
            if typ == "gcp:serviceaccount/account:Account":
                email = f"{inputs['accountId']}@{proj}.iam.gserviceaccount.com"
                sa_id = f"projects/{proj}/serviceAccounts/{email}"
                state.update(
                    email=email,
                    name=sa_id,
                    member=f"serviceAccount:{email}",
                    uniqueId=_number(email, 21),
                )
                return sa_id, state
            if typ == "gcp:projects/serviceIdentity:ServiceIdentity":
                domain = _AGENT_DOMAINS.get(inputs["service"], "gcp-sa-unknown")
                email = (
                    f"service-{self.project_number}@{domain}.iam.gserviceaccount.com"
                )
                state.update(email=email, member=f"serviceAccount:{email}")
                return f"projects/{proj}/services/{inputs['service']}", state
            if typ == "gcp:vertex/aiIndex:AiIndex":
                number = _number(f"index/{args.name}", 19)
                state["name"] = number
                return f"projects/{proj}/locations/{where}/indexes/{number}", state
            if typ == "gcp:vertex/aiIndexEndpoint:AiIndexEndpoint":
                number = _number(f"endpoint/{args.name}", 19)
                state["name"] = number
                if inputs.get("publicEndpointEnabled"):
                    state["publicEndpointDomainName"] = (
                        f"{number}.{where}-{self.project_number}.vdb.vertexai.goog"
                    )
                return (
                    f"projects/{proj}/locations/{where}/indexEndpoints/{number}",
                    state,
                )
            if typ == (
                "gcp:vertex/aiIndexEndpointDeployedIndex:AiIndexEndpointDeployedIndex"
            ):
                deployed = inputs["deployedIndexId"]
                return f"{inputs['indexEndpoint']}/deployedIndex/{deployed}", state
            if typ == "gcp:cloudfunctionsv2/function:Function":
                fn_id = f"projects/{proj}/locations/{where}/functions/{inputs['name']}"
                state["url"] = (
                    f"https://{where}-{proj}.cloudfunctions.net/{inputs['name']}"
                )
                service = dict(inputs.get("serviceConfig") or {})
                service["service"] = (
                    f"projects/{proj}/locations/{where}/services/{inputs['name']}"
                )
                state["serviceConfig"] = service
                return fn_id, state
            if typ == "gcp:artifactregistry/repository:Repository":
                repo = inputs["repositoryId"]
                state.update(
                    name=repo, registryUri=f"{where}-kfp.pkg.dev/{proj}/{repo}"
                )
                return f"projects/{proj}/locations/{where}/repositories/{repo}", state
            if typ == "gcp:bigquery/dataset:Dataset":
                return f"projects/{proj}/datasets/{inputs['datasetId']}", state
            if typ == "gcp:bigquery/table:Table":
                dataset = f"projects/{proj}/datasets/{inputs['datasetId']}"
                return f"{dataset}/tables/{inputs['tableId']}", state
            if typ == "gcp:projects/service:Service":
                return f"{proj}/{inputs['service']}", state
            return f"{args.name}-id", state

    return PlatformMocks()


def recording_monitor(mocks: Any) -> Any:
    """A mock monitor that also keeps what each registration asked for."""
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.sync_await import _sync_await

    class RecordingMonitor(MockMonitor):
        """Pulumi's mock monitor, keeping each registration's request."""

        def __init__(self) -> None:
            super().__init__(mocks)
            self.registrations: dict[str, dict[str, Any]] = {}

        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(request)
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = response.urn
                return response
            timeouts = request.customTimeouts
            self.registrations[response.urn] = {
                "type": request.type,
                "name": request.name,
                "urn": response.urn,
                "parent": request.parent or None,
                "custom": bool(request.custom),
                "inputs": _sync_await(_deserialize(rpc, request.object)),
                "dependencies": tuple(sorted(set(request.dependencies))),
                "protect": bool(request.protect),
                "customTimeouts": {
                    key: value
                    for key, value in (
                        ("create", timeouts.create),
                        ("update", timeouts.update),
                        ("delete", timeouts.delete),
                    )
                    if value
                },
            }
            return response

    return RecordingMonitor()


async def _deserialize(rpc: Any, struct: Any) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct))


def stack_config(stack_file: Path) -> dict[str, str]:
    """A stack file's config as the engine passes it: every value a string."""
    try:
        doc = yaml.safe_load(stack_file.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(
            f"stack file {stack_file} does not exist; pass a Pulumi.<stack>.yaml"
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(
            f"stack file {stack_file} is not valid YAML: {error}"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"stack file {stack_file} is not UTF-8 text; save it as UTF-8"
        ) from None
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not isinstance(config or {}, dict):
        raise ConfigError(
            f"stack file {stack_file} must be a mapping with a `config:` mapping of "
            "keys such as gcp:project; see Pulumi.dev.yaml"
        )
    values: dict[str, str] = {}
    for key, value in (config or {}).items():
        if isinstance(value, dict) and "secure" in value:
            raise ConfigError(
                f"{key} in {stack_file} is a secret the offline plan cannot decrypt; "
                "give the plan a stack file without secrets"
            )
        if isinstance(value, str):
            values[key] = value
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, (int, float)):
            values[key] = str(value)
        else:
            values[key] = json.dumps(value)
    return values


def _stack_name(stack_file: Path) -> str:
    name = stack_file.name
    if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))):
        raise ConfigError(
            f"stack file {stack_file} must be named Pulumi.<stack>.yaml, where "
            "Pulumi looks for it"
        )
    return name[len("Pulumi.") :].rsplit(".", 1)[0]


def _project_file(directory: Path) -> tuple[str, Path | None]:
    """The project name and `main` directory from the nearest Pulumi.yaml."""
    for candidate in (directory, *directory.parents):
        path = candidate / "Pulumi.yaml"
        if path.is_file():
            try:
                doc = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                where = f" line {mark.line + 1}" if mark else ""
                problem = getattr(error, "problem", None) or "cannot be parsed"
                raise ConfigError(
                    f"{path}{where}: {problem}, so Pulumi cannot read it either; "
                    "quote any value that holds ': '"
                ) from None
            main = doc.get("main")
            return str(doc.get("name", "project")), (candidate / main) if main else None
    raise ConfigError(
        f"no Pulumi.yaml in {directory} or above; run the plan inside the project"
    )


def _plain(value: Any, base: Path) -> Any:
    """Inputs as JSON values; assets and archives by their relative paths."""
    import pulumi

    if isinstance(value, dict):
        return {str(k): _plain(v, base) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v, base) for v in value]
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": sorted(value.assets)}
    if isinstance(value, (pulumi.FileAsset, pulumi.FileArchive)):
        return {"file": os.path.relpath(value.path, base)}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    # The wire format carries every number as a double.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def capture(stack_file: Path | str, program_dir: Path | str | None = None) -> Plan:
    """Run the program of `program_dir` (default: Pulumi.yaml's `main`) under
    mocks with the config of `stack_file`, and return what it declared."""
    import pulumi
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    stack_file = Path(stack_file).resolve()
    stack = _stack_name(stack_file)
    values = stack_config(stack_file)
    project, main = _project_file(stack_file.parent)
    program = Path(program_dir).resolve() if program_dir else main
    if program is None or not (program / "__main__.py").is_file():
        raise ConfigError(
            f"no Pulumi program at {program}; pass the directory holding __main__.py"
        )
    base = program.parent

    mocks = platform_mocks(
        values.get("gcp:project", "project"), values.get("gcp:region", "region")
    )
    monitor = recording_monitor(mocks)
    root_token = settings.ROOT.set(None)
    config_token = runtime_config.CONFIG.set(dict(values))
    resolved: dict[str, Any] = {}
    try:
        set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()

        def run() -> None:
            runpy.run_path(str(program / "__main__.py"), run_name="__main__")
            root = settings.get_root_resource()
            exported = dict(getattr(root, "outputs", {}))
            resolved.update(_sync_await(pulumi.Output.from_input(exported).future()))

        _sync_await(run_pulumi_func(run))
    finally:
        runtime_config.CONFIG.reset(config_token)
        settings.ROOT.reset(root_token)

    records = monitor.registrations
    stack_urn = getattr(monitor, "stack_urn", None)
    resources = [
        PlannedResource(
            type=r["type"],
            name=r["name"],
            urn=_engine_urn(r["urn"]),
            parent=None if r["parent"] == stack_urn else _engine_urn(r["parent"]),
            custom=r["custom"],
            inputs=_plain(r["inputs"], base),
            dependencies=tuple(
                _engine_urn(d) for d in r["dependencies"] if d != stack_urn
            ),
            protect=r["protect"],
            custom_timeouts=r["customTimeouts"],
        )
        for r in records.values()
    ]
    logger.info(
        "plan.captured stack=%s resources=%d outputs=%d",
        stack,
        len(resources),
        len(resolved),
    )
    return Plan(
        project=project,
        stack=stack,
        resources=tuple(_tree_order(resources)),
        outputs=_plain(resolved, base),
    )


def _engine_urn(urn: str) -> str:
    """The URN the engine would give: the mock monitor prefixes the stack's
    type to its children's types, the engine does not."""
    return urn.replace("::pulumi:pulumi:Stack$", "::", 1)


def _tree_order(resources: list[PlannedResource]) -> list[PlannedResource]:
    """Parents before children; siblings by type, then name."""
    children: dict[str | None, list[PlannedResource]] = {}
    urns = {r.urn for r in resources}
    for resource in resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)
    ordered: list[PlannedResource] = []

    def visit(parent: str | None) -> None:
        for child in sorted(children.get(parent, []), key=lambda r: (r.type, r.name)):
            ordered.append(child)
            visit(child.urn)

    visit(None)
    return ordered


def evaluate_policies(plan: Plan, stack_file: Path | str) -> list[dict[str, Any]]:
    """Every rule of the project's policy pack, judged on the captured plan.

    The pack lives beside the program (``policies/`` next to Pulumi.yaml), as
    ``pulumi preview --policy-pack policies`` finds it.
    """
    import importlib
    import sys

    stack_path = Path(stack_file).resolve()
    root = _project_root(stack_path.parent)
    if not (root / "policies" / "evaluate.py").is_file():
        raise ConfigError(
            f"no policy pack at {root / 'policies'}; run the plan inside the "
            "project checkout"
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    evaluate = importlib.import_module("policies.evaluate")
    config = evaluate.stack_policy_config(stack_config(stack_path))
    return list(evaluate.evaluate(plan.to_json()["resources"], config))


def mandatory_violations(verdicts: list[dict[str, Any]]) -> int:
    """How many violations of mandatory rules the verdicts hold."""
    return sum(
        len(v["violations"]) for v in verdicts if v["enforcement"] == "mandatory"
    )


def render_policies(verdicts: list[dict[str, Any]]) -> str:
    """One line per rule; each violation with its resource and its fix."""
    lines = ["", "Policies"]
    for verdict in verdicts:
        count = len(verdict["violations"])
        state = (
            "disabled"
            if verdict["enforcement"] == "disabled"
            else ("passed" if count == 0 else f"{count} violation(s)")
        )
        lines.append(f"  {verdict['name']} [{verdict['enforcement']}]: {state}")
        for violation in verdict["violations"]:
            lines.append(
                f"    - {violation.get('name') or violation.get('urn')}: "
                f"{violation['message']}"
            )
            if violation.get("remediation"):
                lines.append(f"      fix: {violation['remediation']}")
    lines.append(
        f"{len(verdicts)} rules, {mandatory_violations(verdicts)} mandatory "
        "violation(s)"
    )
    return "\n".join(lines) + "\n"


def _project_root(directory: Path) -> Path:
    for candidate in (directory, *directory.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    raise ConfigError(
        f"no Pulumi.yaml in {directory} or above; run the plan inside the project"
    )
