"""``AgentInbox``: the queues the agent's subscribed topics deliver into (``sns-sqs``), and the
grants of messaging between agents (publishing to declared topics, Kafka with MSK Serverless)."""

from __future__ import annotations

import json
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from ... import names
from ...config.agents import AgentSpec
from ..contract import PlatformRefs
from ...iam import Statement, policy_document
from ...iam.grants import kafka_access, publish_access, queue_consume
from ..base import ComponentArgs, StrInput
from .common import moved, physical_name, subscribed_topic_arns

DAY = 86_400
# Every request to a queue, for the TLS-only deny.
SQS_ALL = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage",
           "sqs:SendMessage")


class AgentInboxArgs(ComponentArgs):
    spec: AgentSpec
    platform: PlatformRefs
    key_arn: StrInput  # the agent's key: it encrypts both queues


def has_inbox(spec: AgentSpec, platform: PlatformRefs) -> bool:
    """An inbox exists with the sns-sqs backend and at least one subscription: nothing else delivers."""
    return platform.messaging.backend == "sns-sqs" and bool(spec.messaging.subscribes)


def operator_role_arn(platform: PlatformRefs) -> str:
    """The messaging operator's role (:mod:`..broker`), named by convention."""
    account = platform.account
    return f"arn:{account.partition}:iam::{account.account_id}:role/{platform.prefix}-messaging-operator"


class AgentInbox(pulumi.ComponentResource):
    """Inbox and dead-letter queue (both under the agent's key), their policies and redrive,
    one SNS subscription per subscribed topic, and two alarms.

    ``name`` is the AgentService's: the part is ``<name>-inbox`` of type AgentInbox, and its
    children keep their names (``<name>-inbox``, ``<name>-dlq``, ...).
    """

    queue: aws.sqs.Queue
    dead_letters: aws.sqs.Queue

    def __init__(self, name: str, args: AgentInboxArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_AGENT_INBOX, f"{name}-inbox", None, opts)
        spec, platform = args.spec, args.platform
        self._name, self.spec, self.platform, self.key_arn = name, spec, platform, args.key_arn
        self._agent = opts.parent if opts is not None else None
        self.physical = physical_name(spec, platform)
        messaging = platform.messaging
        topics = platform.messaging.topics
        fifo = any(topics[s.topic].ordered for s in spec.messaging.subscribes if s.topic in topics)
        suffix = ".fifo" if fifo else ""
        self.dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{self.physical}-dlq{suffix}",
            fifo_queue=fifo or None,
            message_retention_seconds=messaging.dlq_retention_days * DAY,
            kms_master_key_id=args.key_arn,
            kms_data_key_reuse_period_seconds=300,
            opts=self._opts(),
        )
        self.queue = aws.sqs.Queue(
            f"{name}-inbox",
            name=f"{self.physical}-inbox{suffix}",
            fifo_queue=fifo or None,
            content_based_deduplication=fifo or None,
            message_retention_seconds=messaging.inbox_retention_days * DAY,
            visibility_timeout_seconds=messaging.visibility_timeout_seconds,
            receive_wait_time_seconds=20,
            kms_master_key_id=args.key_arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=pulumi.Output.json_dumps({
                "deadLetterTargetArn": self.dead_letters.arn, "maxReceiveCount": messaging.max_receive_count,
            }),
            opts=self._opts(),
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=self.dead_letters.id,
            redrive_allow_policy=pulumi.Output.json_dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [self.queue.arn]}
            ),
            opts=self._opts(),
        )
        self._policies()
        for subscription in spec.messaging.subscribes:
            aws.sns.TopicSubscription(
                f"{name}-subscription-{subscription.topic}",
                topic=topics[subscription.topic].arn,
                protocol="sqs",
                endpoint=self.queue.arn,
                raw_message_delivery=True,
                filter_policy=json.dumps(subscription.filter, sort_keys=True) if subscription.filter else None,
                filter_policy_scope="MessageAttributes" if subscription.filter else None,
                opts=self._opts(),
            )
        self._alarms()
        self.register_outputs({"inbox_arn": self.queue.arn, "inbox_url": self.queue.url,
                               "dead_letter_queue_arn": self.dead_letters.arn})

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return moved(self, self._agent, **kwargs)

    def _policies(self) -> None:
        """TLS only on both queues; into the inbox, only what the subscribed topics deliver."""
        inbox, dead_letters, name = self.queue, self.dead_letters, self._name
        topics = subscribed_topic_arns(self.spec, self.platform)
        inbox_policy = [
            Statement(sid="DenyPlainHttp", effect="Deny", principals={"AWS": "*"}, actions=SQS_ALL,
                      resources=(inbox.arn,), conditions={"Bool": {"aws:SecureTransport": False}}),
        ]
        if topics:
            inbox_policy += [
                Statement(sid="SubscribedTopicsDeliver",
                          principals={"Service": self.platform.account.service_principal("sns")},
                          actions=("sqs:SendMessage",), resources=(inbox.arn,),
                          conditions={"ArnEquals": {"aws:SourceArn": topics}}),
                # Nothing else may write into the inbox, whatever its identity policy says,
                # except the messaging operator redriving dead letters back into it.
                Statement(sid="OnlySubscribedTopicsSend", effect="Deny", principals={"AWS": "*"},
                          actions=("sqs:SendMessage",), resources=(inbox.arn,),
                          conditions={"ArnNotEquals": {"aws:SourceArn": topics,
                                                       "aws:PrincipalArn": operator_role_arn(self.platform)}}),
            ]
        else:
            inbox_policy.append(Statement(sid="NoTopicSubscribed", effect="Deny", principals={"AWS": "*"},
                                          actions=("sqs:SendMessage",), resources=(inbox.arn,)))
        aws.sqs.QueuePolicy(f"{name}-inbox-policy", queue_url=inbox.id, policy=policy_document(*inbox_policy),
                            opts=self._opts())
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=dead_letters.id,
            policy=policy_document(Statement(
                sid="DenyPlainHttp", effect="Deny", principals={"AWS": "*"}, actions=SQS_ALL,
                resources=(dead_letters.arn,), conditions={"Bool": {"aws:SecureTransport": False}},
            )),
            opts=self._opts(),
        )

    def _alarms(self) -> None:
        messaging, spec, name = self.platform.messaging, self.spec, self._name
        actions = [messaging.alert_topic_arn] if messaging.alert_topic_arn else []
        common = dict(namespace="AWS/SQS", period=60, evaluation_periods=1, treat_missing_data="notBreaching",
                      alarm_actions=actions, ok_actions=actions)
        aws.cloudwatch.MetricAlarm(
            f"{name}-dlq-alarm",
            name=f"{self.physical}-dlq-not-empty",
            alarm_description=f"Agent {spec.name}: messages in its dead-letter queue. "
                              "Runbook: docs/runbooks/dead-letter-queue.md",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": self.dead_letters.name},
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            **common,
            opts=self._opts(),
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-inbox-age-alarm",
            name=f"{self.physical}-inbox-message-age",
            alarm_description=f"Agent {spec.name}: the oldest inbox message is older than "
                              f"{messaging.max_message_age_seconds}s. Runbook: docs/runbooks/dead-letter-queue.md",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": self.queue.name},
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=messaging.max_message_age_seconds,
            **{**common, "evaluation_periods": 5},
            opts=self._opts(),
        )

    def grant_consume(self) -> list[Statement]:
        """``OwnInbox``: receive, delete and extend messages of the inbox, and decrypt with the key
        that encrypts it (as CDK's ``grantConsumeMessages``); nothing on the dead-letter queue."""
        return queue_consume(self.queue.arn, self.key_arn)


def publish_grants(spec: AgentSpec, platform: PlatformRefs) -> list[Statement]:
    """``DeclaredTopics`` and the broker key: publishing to the topics the agent declared."""
    topics = platform.messaging.topics
    return publish_access(
        [topics[t].arn for t in spec.messaging.publishes if t in topics],
        platform.messaging.broker_key_arn if spec.messaging.publishes else None,
    )


def kafka_grants(spec: AgentSpec, platform: PlatformRefs) -> list[Statement]:
    """With msk-serverless: the cluster, and the topics this agent writes and reads, and its group."""
    messaging = platform.messaging
    if messaging.backend != "msk-serverless" or messaging.kafka_cluster_arn is None:
        return []
    cluster = pulumi.Output.from_input(messaging.kafka_cluster_arn)

    def under(kind: str, leaf: str) -> pulumi.Output[str]:
        # arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid> -> <kind>/<name>/<uuid>/<leaf>
        return cluster.apply(lambda arn: arn.replace(":cluster/", f":{kind}/", 1) + f"/{leaf}")

    return kafka_access({
        "cluster": cluster,
        "write": [under("topic", t) for t in spec.messaging.publishes],
        "read": [under("topic", s.topic) for s in spec.messaging.subscribes],
        "group": under("group", spec.name),
    })
