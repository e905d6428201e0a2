"""What a declared platform holds, for checks over every resource."""

from __future__ import annotations

import pulumi

from infra.__main__ import Platform


def custom_children(resource: pulumi.Resource) -> list[pulumi.CustomResource]:
    """Every custom resource under a component, depth first."""
    found: list[pulumi.CustomResource] = []
    for child in sorted(resource._childResources, key=lambda r: r._name):
        if isinstance(child, pulumi.CustomResource):
            found.append(child)
        found.extend(custom_children(child))
    return found


def platform_resources(platform: Platform) -> list[pulumi.CustomResource]:
    """Every custom resource the platform declared."""
    components: list[pulumi.Resource] = [
        platform.apis,
        platform.monitoring,
        platform.vector_search,
        platform.prompt_registry,
        platform.ingestion,
        platform.pipeline_templates,
        *platform.use_cases.values(),
        *[
            optional
            for optional in (
                platform.project_roles,
                platform.data_protection,
                platform.tuning_schedule,
            )
            if optional is not None
        ],
    ]
    return [r for component in components for r in custom_children(component)]
