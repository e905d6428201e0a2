"""The one way the platform declares a bucket: private, uniform, labelled.

Every component's buckets come from `private_bucket`, so none can be declared
public or with object ACLs, and protection follows the stack's preset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_gcp as gcp

DAY_SECONDS = 24 * 60 * 60


def private_bucket(
    resource_name: str,
    *,
    parent: pulumi.Resource,
    name: str,
    project: str,
    location: str,
    labels: Mapping[str, str],
    protect: bool,
    depends_on: Sequence[pulumi.Resource],
    versioned: bool = False,
    soft_delete_days: int = 0,
    delete_after_days: int | None = None,
) -> gcp.storage.Bucket:
    """A bucket with uniform access and public access prevention enforced.

    A protected bucket cannot be deleted by Pulumi and refuses to delete its
    objects; an unprotected one (dev) is emptied and removed on destroy.
    """
    lifecycle = (
        [
            gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    age=delete_after_days
                ),
            )
        ]
        if delete_after_days
        else None
    )
    return gcp.storage.Bucket(
        resource_name,
        name=name,
        project=project,
        location=location.upper(),
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning=gcp.storage.BucketVersioningArgs(enabled=versioned),
        soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(
            retention_duration_seconds=soft_delete_days * DAY_SECONDS
        ),
        lifecycle_rules=lifecycle,
        force_destroy=not protect,
        labels=dict(labels),
        opts=pulumi.ResourceOptions(
            parent=parent, protect=protect, depends_on=list(depends_on)
        ),
    )
