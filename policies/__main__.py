"""Build the policy pack; Pulumi runs this file (`--policy-pack policies`).

Pulumi runs the pack directory as a script, so the repository root is put on
the import path first: the rules import ``policies.*`` and ``llmops.contract``.
Building the pack starts its server and blocks, so nothing else lives here.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, Policy, PolicyPack

from policies.pack import ALL, PACK_NAME, initial_config

rules: list[Policy] = [*ALL]

PolicyPack(
    name=PACK_NAME,
    policies=rules,
    enforcement_level=EnforcementLevel.ADVISORY,
    initial_config=initial_config(),
    description="Guardrails every llmops-platform stack must pass.",
)
