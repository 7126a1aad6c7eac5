# secure: true
"""A patch that only adds a label to the team's Deployment."""
import kit
import pulumi
import pulumi_kubernetes as k8s

workload = kit.deployment()
k8s.apps.v1.DeploymentPatch("worker-owner", metadata={"name": "worker", "namespace": kit.AGENT,
                                                       "labels": {"acme.com/owner": "claims-oncall"}},
                            opts=pulumi.ResourceOptions(depends_on=[workload]))
