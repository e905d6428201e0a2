"""The pulumi-gcp 10.x type tokens the rules look at, in one place."""

from __future__ import annotations

BUCKET = "gcp:storage/bucket:Bucket"
HMAC_KEY = "gcp:storage/hmacKey:HmacKey"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
SERVICE_ACCOUNT_KEY = "gcp:serviceaccount/key:Key"
PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding"
PROJECT_IAM_POLICY = "gcp:projects/iAMPolicy:IAMPolicy"
PROJECT_IAM = (PROJECT_IAM_MEMBER, PROJECT_IAM_BINDING, PROJECT_IAM_POLICY)
PROJECT_SERVICE = "gcp:projects/service:Service"

FUNCTION_V2 = "gcp:cloudfunctionsv2/function:Function"
FUNCTION_V1 = "gcp:cloudfunctions/function:Function"
RUN_SERVICE_V2 = "gcp:cloudrunv2/service:Service"
RUN_SERVICE_V1 = "gcp:cloudrun/service:Service"
WORKLOADS = (FUNCTION_V2, FUNCTION_V1, RUN_SERVICE_V2, RUN_SERVICE_V1)
# IAM on these modules decides who may invoke a function or a service.
WORKLOAD_MODULES = (
    "gcp:cloudfunctions/",
    "gcp:cloudfunctionsv2/",
    "gcp:cloudrun/",
    "gcp:cloudrunv2/",
)

DATASET = "gcp:bigquery/dataset:Dataset"
TABLE = "gcp:bigquery/table:Table"

AI_INDEX = "gcp:vertex/aiIndex:AiIndex"
AI_INDEX_ENDPOINT = "gcp:vertex/aiIndexEndpoint:AiIndexEndpoint"
AI_DEPLOYED_INDEX = (
    "gcp:vertex/aiIndexEndpointDeployedIndex:AiIndexEndpointDeployedIndex"
)

ARTIFACT_REPOSITORY = "gcp:artifactregistry/repository:Repository"
KMS_KEY_RING = "gcp:kms/keyRing:KeyRing"
KMS_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
PUBSUB_TOPIC = "gcp:pubsub/topic:Topic"
PUBSUB_SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
SECRET = "gcp:secretmanager/secret:Secret"

# Types whose SDK class takes `labels` (tests check each against the SDK).
LABELLED = (
    BUCKET,
    FUNCTION_V2,
    FUNCTION_V1,
    RUN_SERVICE_V2,
    DATASET,
    TABLE,
    AI_INDEX,
    AI_INDEX_ENDPOINT,
    ARTIFACT_REPOSITORY,
    KMS_CRYPTO_KEY,
    PUBSUB_TOPIC,
    PUBSUB_SUBSCRIPTION,
    SECRET,
)

# Where each type keeps its customer-managed key, as an input path.
CMEK_PATHS: dict[str, tuple[str, ...]] = {
    BUCKET: ("encryption", "defaultKmsKeyName"),
    DATASET: ("defaultEncryptionConfiguration", "kmsKeyName"),
    FUNCTION_V2: ("kmsKeyName",),
    FUNCTION_V1: ("kmsKeyName",),
    RUN_SERVICE_V2: ("template", "encryptionKey"),
    AI_INDEX: ("encryptionSpec", "kmsKeyName"),
    AI_INDEX_ENDPOINT: ("encryptionSpec", "kmsKeyName"),
    ARTIFACT_REPOSITORY: ("kmsKeyName",),
    PUBSUB_TOPIC: ("kmsKeyName",),
}
