# expect: [MAAS-K8S-005]
"""A Job mounting the container runtime's socket from the node."""
import kit
import pulumi_kubernetes as k8s

k8s.batch.v1.Job("migrate", metadata=kit.metadata("migrate"), spec={"template": {
    "metadata": {"labels": kit.LABELS},
    "spec": kit.pod_spec(restartPolicy="Never", volumes=[
        {"name": "tmp", "emptyDir": {}}, {"name": "sock", "hostPath": {"path": "/run/containerd/containerd.sock"}}]),
}})
