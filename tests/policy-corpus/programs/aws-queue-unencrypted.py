# expect: [MAAS-SEC-003]
"""A queue (with its DLQ and TLS-only policy) encrypted only with SQS-owned keys."""
import kit
import pulumi_aws as aws

dlq = aws.sqs.Queue("jobs-dlq", message_retention_seconds=1209600, sqs_managed_sse_enabled=True, tags=kit.TAGS)
queue = aws.sqs.Queue("jobs", sqs_managed_sse_enabled=True, tags=kit.TAGS,
                      redrive_policy=dlq.arn.apply(lambda a: f'{{"deadLetterTargetArn": "{a}", "maxReceiveCount": 5}}'))
for name, q in (("jobs", queue), ("jobs-dlq", dlq)):
    aws.sqs.QueuePolicy(f"{name}-policy", queue_url=q.url, policy=kit.tls_only(q.arn, ""))
