"""Data protection: the Cloud DLP templates the ingestion functions redact with.

Declared when the stack turns PII redaction on (`llmops:piiRedaction`, or a
data classification in `llmops.contract.REDACTING_CLASSIFICATIONS`). The
inspect template lists the info types the platform redacts (the ones the
offline redactor finds, and person names); `URL_CREDENTIALS` is not a
built-in DLP type, so it is a custom regex type whose first group, the user
information of a URL, is what gets replaced. The de-identify template is what
`llmops.protection.deidentify_template_config` produces for the policy, so
the cloud and the embedded default put the same `[INFO_TYPE]` in place of a
value. The functions receive both resource names
(`LLMOPS_DLP_INSPECT_TEMPLATE`, `LLMOPS_DLP_DEIDENTIFY_TEMPLATE`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from infra import catalog
from llmops.protection import (
    KNOWN_INFO_TYPES,
    RedactionPolicy,
    deidentify_template_config,
)

URL_CREDENTIALS = "URL_CREDENTIALS"
# scheme://user:password@host; group 1 is the user information.
URL_CREDENTIALS_REGEX = r"[A-Za-z][A-Za-z0-9+.\-]*://([^\s/?#@:]+:[^\s/?#@]+)@"
# Findings DLP rates below this are left in the text.
MIN_LIKELIHOOD = "POSSIBLE"
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def inspect_config(info_types: Sequence[str]) -> dict[str, Any]:
    """The inspect template's config (SDK field names) for these info types."""
    builtin = sorted(name for name in info_types if name != URL_CREDENTIALS)
    config: dict[str, Any] = {
        "info_types": [{"name": name} for name in builtin],
        "min_likelihood": MIN_LIKELIHOOD,
    }
    if URL_CREDENTIALS in info_types:
        config["custom_info_types"] = [
            {
                "info_type": {"name": URL_CREDENTIALS},
                "regex": {"pattern": URL_CREDENTIALS_REGEX, "group_indexes": [1]},
            }
        ]
    return config


def sdk_fields(rest: Any) -> Any:
    """A DLP REST object (camelCase) as the SDK's input dicts (snake_case).

    The one shape that differs is `replaceWithInfoTypeConfig`: an empty object
    in REST, a flag in the SDK.
    """
    if isinstance(rest, list):
        return [sdk_fields(item) for item in rest]
    if not isinstance(rest, dict):
        return rest
    converted: dict[str, Any] = {}
    for key, value in rest.items():
        name = _CAMEL.sub("_", key).lower()
        if key == "replaceWithInfoTypeConfig":
            converted[name] = True
        else:
            converted[name] = sdk_fields(value)
    return converted


def _default_policy() -> RedactionPolicy:
    return RedactionPolicy()


@dataclass(frozen=True)
class DataProtectionArgs:
    """Where the templates live, what they find and what replaces it."""

    project: str
    region: str
    template_prefix: str
    services: Sequence[pulumi.Resource]
    # Limitation: the stack cannot choose another policy (or hashing, which
    # needs a KMS-wrapped key) until a stack key names the policy and the key.
    policy: RedactionPolicy = field(default_factory=_default_policy)
    info_types: tuple[str, ...] = tuple(sorted(KNOWN_INFO_TYPES))


class DataProtection(pulumi.ComponentResource):
    """The DLP inspect and de-identify templates of the ingestion functions."""

    inspect_template_name: pulumi.Output[str]
    deidentify_template_name: pulumi.Output[str]
    inspect_template: gcp.dataloss.PreventionInspectTemplate
    deidentify_template: gcp.dataloss.PreventionDeidentifyTemplate

    def __init__(
        self,
        name: str,
        args: DataProtectionArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(catalog.TYPE_DATA_PROTECTION, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.services))
        # Regional, beside the functions: DlpRedactor calls the same location.
        parent = f"projects/{args.project}/locations/{args.region}"

        self.inspect_template = gcp.dataloss.PreventionInspectTemplate(
            f"{name}-inspect",
            parent=parent,
            template_id=f"{args.template_prefix}-inspect",
            display_name=f"{args.template_prefix} inspect",
            description="Personal data the ingestion functions redact.",
            inspect_config=inspect_config(args.info_types),
            opts=child,
        )
        self.deidentify_template = gcp.dataloss.PreventionDeidentifyTemplate(
            f"{name}-deidentify",
            parent=parent,
            template_id=f"{args.template_prefix}-deidentify",
            display_name=f"{args.template_prefix} de-identify",
            description="What replaces personal data in ingested text.",
            deidentify_config=sdk_fields(deidentify_template_config(args.policy)),
            opts=child,
        )

        # The full resource names DlpRedactor takes, from what was created.
        self.inspect_template_name = pulumi.Output.concat(
            self.inspect_template.parent,
            "/inspectTemplates/",
            self.inspect_template.template_id,
        )
        self.deidentify_template_name = pulumi.Output.concat(
            self.deidentify_template.parent,
            "/deidentifyTemplates/",
            self.deidentify_template.template_id,
        )
        self.register_outputs(
            {
                "inspectTemplateName": self.inspect_template_name,
                "deidentifyTemplateName": self.deidentify_template_name,
            }
        )
