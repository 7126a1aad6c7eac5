# secure: true
"""An auto-named queue and its dead-letter queue, encrypted with a rotated key, TLS only."""
import json

import kit
import pulumi
import pulumi_aws as aws

key = kit.key("jobs-key")
dlq = aws.sqs.Queue("jobs-dlq", message_retention_seconds=1209600, kms_master_key_id=key.arn, tags=kit.TAGS)
queue = aws.sqs.Queue("jobs", message_retention_seconds=345600, kms_master_key_id=key.arn, tags=kit.TAGS,
                      redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
for name, q in (("jobs", queue), ("jobs-dlq", dlq)):
    aws.sqs.QueuePolicy(f"{name}-policy", queue_url=q.url, policy=kit.tls_only(q.arn, ""))
pulumi.export("queue_url", queue.url)
