"""The services the platform calls, and the Google-managed agents it grants to.

On a fresh project none of these is enabled and the agents do not exist until
a service first acts, so the component enables each API, creates the Eventarc,
Pub/Sub and Vertex AI agents explicitly and looks up the Cloud Storage agent.
Shared APIs are never disabled on destroy: other workloads may use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra import catalog


@dataclass(frozen=True)
class ApisArgs:
    """Which project, which services, which agents."""

    project: str
    apis: tuple[str, ...] = catalog.APIS
    identities: tuple[str, ...] = catalog.SERVICE_IDENTITY_APIS


def _short(api: str) -> str:
    return api.split(".", 1)[0]


class Apis(pulumi.ComponentResource):
    """Enabled services and the service agents of Eventarc, Pub/Sub, Storage."""

    services: dict[str, gcp.projects.Service]
    agent_members: dict[str, pulumi.Output[str]]
    storage_agent_member: pulumi.Output[str]

    def __init__(
        self, name: str, args: ApisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(catalog.TYPE_APIS, name, None, opts)

        self.services = {
            api: gcp.projects.Service(
                f"{name}-{_short(api)}",
                project=args.project,
                service=api,
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in args.apis
        }

        identities = {
            api: gcp.projects.ServiceIdentity(
                f"{name}-{_short(api)}-agent",
                project=args.project,
                service=api,
                opts=pulumi.ResourceOptions(parent=self, depends_on=self.uses(api)),
            )
            for api in args.identities
        }
        self.agent_members = {api: agent.member for api, agent in identities.items()}

        # The Cloud Storage agent is created by the first call that asks for it.
        storage_agent = gcp.storage.get_project_service_account_output(
            project=args.project,
            opts=pulumi.InvokeOutputOptions(
                parent=self, depends_on=self.uses(catalog.API_STORAGE)
            ),
        )
        self.storage_agent_member = storage_agent.member

        # Eventarc's agent needs its own role to manage trigger subscriptions.
        if catalog.API_EVENTARC in identities:
            gcp.projects.IAMMember(
                f"{name}-eventarc-agent-role",
                project=args.project,
                role=catalog.ROLE_EVENTARC_AGENT,
                member=self.agent_members[catalog.API_EVENTARC],
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=self.uses(catalog.API_RESOURCE_MANAGER)
                ),
            )

        self.register_outputs(
            {
                "services": sorted(self.services),
                "agentMembers": self.agent_members,
                "storageAgentMember": self.storage_agent_member,
            }
        )

    def uses(self, *apis: str) -> list[pulumi.Resource]:
        """The service resources a resource calling these APIs depends on."""
        missing = [api for api in apis if api not in self.services]
        if missing:
            raise ValueError(
                f"APIs {', '.join(missing)} are not enabled by this stack; add them "
                "to infra.catalog.APIS"
            )
        return [self.services[api] for api in apis]
