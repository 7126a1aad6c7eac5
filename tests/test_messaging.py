"""Asynchronous messaging between agents: topics, inboxes, dead letters, who may publish and
consume, queue-depth autoscaling, alarms, and the topology checks."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import yaml

from conftest import ROOT, policy
from maas_platform.config.loader import ConfigError, parse_platform_config, read_stack_file
from maas_platform.plan import Plan, plan_project
from test_agents import agent_resources, by_type, k8s_kind, one

TOPIC = "aws:sns/topic:Topic"


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def topic(plan: Plan, name: str) -> dict[str, Any]:
    (found,) = [r for r in plan.of_type(TOPIC) if r["name"].endswith(f"-topic-{name}")]
    return found


def role_policy(plan: Plan, agent: str, role_name: str = "") -> list[dict[str, Any]]:
    """The policy of the agent's workload role, or of its role ``role_name`` (an agent with llm.bedrock
    also has its budget stop role's, test_bedrock.py; with delivery.source its CI role's, registry.py)."""
    role_name = role_name or plan.outputs["agents"][agent]["role_arn"].rsplit("/", 1)[1]
    (grant,) = [r for r in by_type(agent_resources(plan, agent), "aws:iam/rolePolicy:RolePolicy")
                if r["inputs"]["role"] == role_name]
    return policy(grant["inputs"]["policy"])["Statement"]


def data_key(plan: Plan, agent: str) -> dict[str, Any]:
    """The inputs of the agent's data key (its other key signs its images)."""
    (key,) = [k for k in by_type(agent_resources(plan, agent), "aws:kms/key:Key")
              if k["outputs"]["arn"] == plan.outputs["agents"][agent]["key_arn"]]
    return key["inputs"]


# -- triage publishes `tickets`; research subscribes to it ------------------------------------

def test_the_topic_is_encrypted_and_only_its_declared_publisher_may_publish(dev):
    tickets = topic(dev, "tickets")
    assert tickets["inputs"]["kmsMasterKeyId"] == dev.outputs["messaging"]["broker_key_arn"]
    (topic_policy,) = [r for r in dev.of_type("aws:sns/topicPolicy:TopicPolicy") if r["name"].endswith("tickets-policy")]
    statements = {s["Sid"]: s for s in policy(topic_policy["inputs"]["policy"])["Statement"]}
    triage = dev.outputs["agents"]["triage"]["role_arn"]
    assert statements["DeclaredPublishers"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [triage]
    deny = statements["NobodyElsePublishes"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == [triage]
    assert statements["DenyPlainHttp"]["Condition"] == {"Bool": {"aws:SecureTransport": False}}


def test_the_subscriber_gets_an_encrypted_inbox_a_dead_letter_queue_and_the_redrive(dev):
    resources = agent_resources(dev, "research")
    key = dev.outputs["agents"]["research"]["key_arn"]
    queues = {q["name"].rsplit("-", 1)[-1]: q["inputs"] for q in by_type(resources, "aws:sqs/queue:Queue")}
    inbox, dlq = queues["inbox"], queues["dlq"]
    assert inbox["kmsMasterKeyId"] == key and dlq["kmsMasterKeyId"] == key
    redrive = json.loads(inbox["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dev.outputs["agents"]["research"]["dead_letter_queue_arn"],
                       "maxReceiveCount": 5}
    assert dlq["messageRetentionSeconds"] > inbox["messageRetentionSeconds"]
    allow = json.loads(one(resources, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")["redriveAllowPolicy"])
    assert allow == {"redrivePermission": "byQueue", "sourceQueueArns": [dev.outputs["agents"]["research"]["inbox_arn"]]}
    (subscription,) = by_type(resources, "aws:sns/topicSubscription:TopicSubscription")
    assert subscription["inputs"]["topic"] == dev.outputs["messaging"]["topics"]["tickets"]["arn"]
    assert subscription["inputs"]["protocol"] == "sqs" and subscription["inputs"]["rawMessageDelivery"] is True


def test_the_inbox_accepts_tls_only_and_messages_only_from_subscribed_topics(dev):
    (inbox_policy,) = [r for r in by_type(agent_resources(dev, "research"), "aws:sqs/queuePolicy:QueuePolicy")
                       if r["name"].endswith("inbox-policy")]
    statements = {s["Sid"]: s for s in policy(inbox_policy["inputs"]["policy"])["Statement"]}
    tickets = dev.outputs["messaging"]["topics"]["tickets"]["arn"]
    assert statements["DenyPlainHttp"]["Effect"] == "Deny"
    assert statements["DenyPlainHttp"]["Condition"] == {"Bool": {"aws:SecureTransport": False}}
    assert statements["SubscribedTopicsDeliver"]["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statements["SubscribedTopicsDeliver"]["Condition"]["ArnEquals"]["aws:SourceArn"] == [tickets]
    deny = statements["OnlySubscribedTopicsSend"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["ArnNotEquals"]["aws:SourceArn"] == [tickets]
    assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"].endswith(":role/maas-dev-messaging-operator")


def test_sns_may_use_the_subscribers_key_only_for_its_subscribed_topics(dev):
    key = data_key(dev, "research")
    (delivery,) = [s for s in policy(key["policy"])["Statement"] if s["Sid"] == "SubscribedTopicsDeliverToInbox"]
    assert delivery["Principal"] == {"Service": "sns.amazonaws.com"}
    assert delivery["Condition"]["ArnEquals"]["aws:SourceArn"] == [dev.outputs["messaging"]["topics"]["tickets"]["arn"]]
    # The image-signing key is no messaging key: SNS is not named in it.
    (signing,) = [k for k in by_type(agent_resources(dev, "research"), "aws:kms/key:Key")
                  if k["inputs"].get("keyUsage") == "SIGN_VERIFY"]
    assert "sns.amazonaws.com" not in signing["inputs"]["policy"]


def test_a_cannot_consume_bs_inbox_and_b_cannot_publish_to_an_undeclared_topic(dev):
    agents, topics = dev.outputs["agents"], dev.outputs["messaging"]["topics"]
    for agent in ("triage", "research", "reports"):
        statements = role_policy(dev, agent)
        consumed = {r for s in statements if "sqs:ReceiveMessage" in _list(s["Action"]) for r in _list(s["Resource"])}
        assert consumed == {agents[agent]["inbox_arn"]}
        assert not any(a.startswith("sqs:") and a != "sqs:GetQueueUrl" and "Receive" not in a and "Delete" not in a
                       and "Visibility" not in a and "Attributes" not in a
                       for s in statements for a in _list(s["Action"])), "an agent never sends to a queue directly"
        for s in statements:
            assert not any(a.startswith("sqs:StartMessageMove") for a in _list(s["Action"])), "redrive is the operator's"
    published = {r for s in role_policy(dev, "research") if "sns:Publish" in _list(s["Action"]) for r in _list(s["Resource"])}
    assert published == {topics["findings"]["arn"]}, "research declared findings only, not tickets"
    assert not any("sns:Publish" in _list(s["Action"]) for s in role_policy(dev, "reports")), "reports publishes nothing"
    for agent in ("triage", "research", "reports"):  # the release workflow's role neither consumes nor publishes
        actions = {a for s in role_policy(dev, agent, f"maas-dev-{agent}-ci") for a in _list(s["Action"])}
        assert actions and not any(a.startswith(("sqs:", "sns:")) for a in actions), (agent, actions)


def test_dead_letters_are_the_operators_to_redrive(dev):
    (operator,) = [r for r in dev.of_type("aws:iam/role:Role") if r["inputs"].get("name") == "maas-dev-messaging-operator"]
    trust = policy(operator["inputs"]["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"AWS": ["arn:aws:iam::111122223333:role/maas-platform-admin"]}
    (grant,) = [r for r in dev.of_type("aws:iam/rolePolicy:RolePolicy") if r["parent"] == operator["parent"]
                and "operator" in r["name"]]
    dead = next(s for s in policy(grant["inputs"]["policy"])["Statement"] if s["Sid"] == "DeadLetters")
    assert "sqs:StartMessageMoveTask" in dead["Action"]
    assert all(r.endswith(("-dlq", "-dlq.fifo")) for r in dead["Resource"])


def test_keda_scales_each_agent_on_its_inbox_and_cpu_and_to_zero_only_where_allowed(dev):
    agents = dev.outputs["agents"]
    for agent, zero in (("triage", False), ("research", True)):
        (scaled,) = k8s_kind(agent_resources(dev, agent), "ScaledObject")
        spec = scaled["spec"]
        triggers = {t["type"]: t for t in spec["triggers"]}
        sqs = triggers["aws-sqs-queue"]
        assert sqs["metadata"]["queueURL"].endswith("/" + agents[agent]["inbox_arn"].rsplit(":", 1)[-1])
        assert sqs["authenticationRef"] == {"name": "keda-aws", "kind": "ClusterTriggerAuthentication"}
        assert triggers["cpu"]["metadata"]["value"] == "70"
        assert spec["scaleTargetRef"]["name"] == agent
        assert (spec["minReplicaCount"] == 0) is zero


def test_two_alarms_per_agent_reach_the_platform_alert_topic(dev):
    alerts = dev.outputs["messaging"]["alert_topic_arn"]
    alarms = {a["inputs"]["name"]: a["inputs"] for a in by_type(agent_resources(dev, "research"), "aws:cloudwatch/metricAlarm:MetricAlarm")}
    dlq = alarms["maas-dev-research-dlq-not-empty"]
    assert (dlq["metricName"], dlq["threshold"], dlq["comparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible", 0, "GreaterThanThreshold")
    assert dlq["dimensions"] == {"QueueName": "maas-dev-research-dlq"}
    age = alarms["maas-dev-research-inbox-message-age"]
    assert age["metricName"] == "ApproximateAgeOfOldestMessage" and age["threshold"] == 900
    assert dlq["alarmActions"] == [alerts] and age["alarmActions"] == [alerts]
    assert "runbooks/dead-letter-queue.md" in dlq["alarmDescription"]


def test_the_alert_topic_takes_alarms_and_budgets_of_this_account_only(dev):
    (alerts_policy,) = [r for r in dev.of_type("aws:sns/topicPolicy:TopicPolicy") if r["name"].endswith("alerts-policy")]
    allow = policy(alerts_policy["inputs"]["policy"])["Statement"][0]
    assert sorted(allow["Principal"]["Service"]) == ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"]
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


# -- topology checks -----------------------------------------------------------------------------

def _dev() -> dict[str, Any]:
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("maas:")}


def _with_agent(index: int, **messaging) -> dict[str, Any]:
    values = _dev()
    values["agents"][index] = {**values["agents"][index], "messaging": messaging}
    return values


@pytest.mark.parametrize("values, expected", [
    (_with_agent(0, publishes=["alerts"]),
     "maas:agents[0].messaging.publishes (agent 'triage'): topic 'alerts' is not declared under maas:broker.topics"),
    (_with_agent(1, subscribes=["invoices"]),
     "maas:agents[1].messaging.subscribes (agent 'research'): topic 'invoices' is not declared"),
    (_with_agent(2, subscribes=[{"topic": "findings", "filter": {"type": ["a"]}}, "findings"]),
     "maas:agents[2].messaging.subscribes (agent 'reports'): topic 'findings' is listed twice"),
    ({**_dev(), "broker": {"topics": [{"name": "orders", "ordered": True}, {"name": "tickets"}, {"name": "findings"}]},
      "agents": [{**_dev()["agents"][0], "messaging": {"subscribes": ["orders", "findings"]}}]},
     "maas:agents[0].messaging.subscribes (agent 'triage'): an inbox is FIFO or standard"),
    ({**_dev(), "broker": {"backend": "rabbitmq", "topics": [{"name": "orders", "ordered": True}]}, "agents": []},
     "maas:broker.topics: 'orders' is ordered; ordered (FIFO) topics need backend sns-sqs"),
    ({**_dev(), "broker": {"topics": [{"name": "a"}, {"name": "a"}]}, "agents": []}, "maas:broker.topics: 'a' is declared twice"),
    ({**_dev(), "broker": {"dlq_retention_days": 4}, "agents": []}, "maas:broker.dlq_retention_days: 4 must exceed"),
])
def test_a_bad_topology_names_the_agent_and_the_topic(values, expected):
    with pytest.raises(ConfigError) as error:
        parse_platform_config(values)
    assert str(error.value).startswith(expected), str(error.value)


def test_prod_refuses_scale_to_zero_and_a_single_rabbitmq_instance():
    prod = {k.split(":", 1)[1]: v for k, v in read_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml").items()}
    agent = {"name": "a", "team": "t", "cost_center": "c", "image": "r/a:1.0.0",
             "messaging": {"subscribes": ["jobs"], "scale_to_zero": True}}
    with pytest.raises(ConfigError, match=r"agents\[0\]\.messaging\.scale_to_zero \(agent 'a'\): prod keeps"):
        parse_platform_config({**prod, "broker": {"topics": [{"name": "jobs"}]}, "agents": [agent]})
    lonely = {**agent, "messaging": {"scale_to_zero": True}}
    with pytest.raises(ConfigError, match=r"scale_to_zero \(agent 'a'\): an agent without subscriptions has no inbox"):
        parse_platform_config({**_dev(), "agents": [lonely]})
    with pytest.raises(ConfigError, match=r"maas:broker\.rabbitmq\.deployment: prod needs 'cluster'"):
        parse_platform_config({**prod, "broker": {"backend": "rabbitmq", "rabbitmq": {"deployment": "single"}}})


def test_maas_plan_exits_2_on_a_bad_topology_and_warns_on_a_topic_nobody_reads(tmp_path):
    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    config["maas:agents"][2]["messaging"] = {"publishes": ["invoices"]}
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump({"config": config}))
    result = subprocess.run([sys.executable, "-m", "maas_platform.cli", "plan", "--config-file", str(bad),
                             "--project-dir", str(ROOT)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert "agents[2].messaging.publishes (agent 'reports'): topic 'invoices'" in line and "Traceback" not in result.stderr

    config = read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    config["maas:broker"]["topics"].append({"name": "orphans"})
    warned = tmp_path / "Pulumi.warned.yaml"
    warned.write_text(yaml.safe_dump({"config": config}))
    result = subprocess.run([sys.executable, "-m", "maas_platform.cli", "plan", "--config-file", str(warned),
                             "--project-dir", str(ROOT), "-q"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0
    assert "warning: maas:broker.topics[2] 'orphans': no agent subscribes to it" in result.stderr


# -- optional backends ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def backends(tmp_path_factory) -> dict[str, Plan]:
    plans = {}
    for env, backend in (("prod", "rabbitmq"), ("dev", "msk-serverless")):
        config = read_stack_file(ROOT / "stacks" / f"Pulumi.{env}.yaml")
        # Not a name maas:teams registers to a team stack (dev's claims team has intake).
        agent = {"name": "ingest", "team": "t", "cost_center": "cc-1", "image": "r/ingest:1.0.0",
                 "messaging": {"publishes": ["orders"], "subscribes": ["orders"]}}
        config["maas:broker"] = {"backend": backend, "topics": [{"name": "orders"}]}
        config["maas:agents"] = [agent]
        config.pop("maas:flows", None)
        path = tmp_path_factory.mktemp(backend) / f"Pulumi.{env}.yaml"
        path.write_text(yaml.safe_dump({"config": config}))
        plans[backend] = plan_project(ROOT, config_file=path)
    return plans


def test_rabbitmq_is_private_clustered_in_prod_encrypted_logged_with_credentials_in_secrets_manager(backends):
    plan = backends["rabbitmq"]
    (broker,) = plan.of_type("aws:mq/broker:Broker")
    inputs = broker["inputs"]
    assert inputs["engineType"] == "RabbitMQ" and inputs["deploymentMode"] == "CLUSTER_MULTI_AZ"
    assert inputs["publiclyAccessible"] is False
    assert inputs["encryptionOptions"] == {"useAwsOwnedKey": False, "kmsKeyId": plan.outputs["messaging"]["broker_key_arn"]}
    assert inputs["logs"] == {"general": True}
    assert all(u["password"] == "[secret]" for u in inputs["users"]), "the password never shows in the plan"
    (secret,) = [s for s in plan.of_type("aws:secretsmanager/secret:Secret") if "broker" in s["inputs"]["name"]]
    assert secret["inputs"]["kmsKeyId"] == plan.outputs["messaging"]["broker_key_arn"]
    # No messaging queue: the only queues left are Karpenter's interruption queue and its dead letters.
    queues = [q for q in plan.of_type("aws:sqs/queue:Queue") if "maas:karpenter:Karpenter" not in q.urn]
    assert not queues and not plan.of_type(TOPIC[:-5] + "topic:Topic")[1:]


def test_msk_serverless_is_private_with_iam_auth_and_agents_get_scoped_kafka_grants(backends):
    plan = backends["msk-serverless"]
    (cluster,) = plan.of_type("aws:msk/serverlessCluster:ServerlessCluster")
    assert cluster["inputs"]["clientAuthentication"] == {"sasl": {"iam": {"enabled": True}}}
    assert cluster["inputs"]["vpcConfigs"][0]["subnetIds"] == plan.outputs["private_subnet_ids"]
    statements = {s["Sid"]: s for s in role_policy(plan, "ingest")}
    arn = plan.outputs["messaging"]["kafka_cluster_arn"]
    assert statements["KafkaCluster"]["Resource"] == arn
    assert statements["KafkaDeclaredTopics"]["Resource"] == arn.replace(":cluster/", ":topic/") + "/orders"
    assert statements["KafkaOwnGroup"]["Resource"] == arn.replace(":cluster/", ":group/") + "/ingest"


def test_the_agent_finds_its_inbox_and_declared_topics_in_its_environment(dev):
    (deployment,) = k8s_kind(agent_resources(dev, "triage"), "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MAAS_INBOX_URL"].endswith("/maas-dev-triage-inbox")
    assert env["MAAS_TOPIC_TICKETS_ARN"] == dev.outputs["messaging"]["topics"]["tickets"]["arn"]
    assert "MAAS_TOPIC_FINDINGS_ARN" not in env, "only the topics it publishes to"
