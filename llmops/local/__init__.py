"""The embedded default: the platform's runtime on one machine.

Real processes stand in for the cloud: a Cloud Storage emulator, a BigQuery
emulator, Milvus Lite, the ingestion function under functions-framework and
an event relay that turns storage notifications into CloudEvents. One
supervisor starts and stops them; ``LocalPlatform`` is the way in.
"""

from llmops.local.platform import LocalPlatform, Stopped
from llmops.local.relay import RelayOptions

__all__ = ["LocalPlatform", "RelayOptions", "Stopped"]
