"""Project roles: the extra project-level grants the platform team manages.

`llmops:projectRoles` maps a role to the members who hold it on the project
(operators with `roles/aiplatform.user`, an on-call group with
`roles/logging.viewer`). The stack declares one `gcp.projects.IAMMember` per
pair, so the grants are reviewed in `llmops plan` and judged by the policy
pack like every other grant: a primitive role or a public member is reported
there, not refused here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra import catalog


@dataclass(frozen=True)
class ProjectRolesArgs:
    """The project and its extra grants: role -> members."""

    project: str
    grants: Mapping[str, tuple[str, ...]]
    # IAM and Resource Manager: project-level grants need both.
    iam_services: Sequence[pulumi.Resource]


def role_key(role: str) -> str:
    """A resource-name-safe key for a role (`roles/aiplatform.user`)."""
    return catalog.principal_key(role.removeprefix("roles/"))


class ProjectRoles(pulumi.ComponentResource):
    """One project-level IAM member per (role, member) of the stack file."""

    members: dict[tuple[str, str], gcp.projects.IAMMember]

    def __init__(
        self,
        name: str,
        args: ProjectRolesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(catalog.TYPE_PROJECT_ROLES, name, None, opts)
        iam = pulumi.ResourceOptions(parent=self, depends_on=list(args.iam_services))

        self.members = {}
        for role, members in sorted(args.grants.items()):
            for member in members:
                self.members[(role, member)] = gcp.projects.IAMMember(
                    f"{name}-{role_key(role)}-{catalog.principal_key(member)}",
                    project=args.project,
                    role=role,
                    member=member,
                    opts=iam,
                )

        self.register_outputs(
            {"grants": {role: list(members) for role, members in args.grants.items()}}
        )
