# expect: [MAAS-K8S-002]
"""A KEDA ScaledJob whose job template runs a privileged container."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("drain", api_version="keda.sh/v1alpha1", kind="ScaledJob", metadata=kit.metadata("drain"),
    spec={"jobTargetRef": {"template": {"metadata": {"labels": kit.LABELS}, "spec": kit.pod_spec(
        restartPolicy="Never", containers=[kit.container(securityContext=kit.security(privileged=True))])}},
          "triggers": [{"type": "aws-sqs-queue", "metadata": {"queueURL": "https://sqs.us-east-1.amazonaws.com/1/q",
                                                               "awsRegion": "us-east-1", "queueLength": "5"},
                        "authenticationRef": {"name": "keda-aws"}}]})
