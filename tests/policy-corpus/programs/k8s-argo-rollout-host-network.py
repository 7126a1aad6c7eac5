# expect: [MAAS-K8S-004]
"""An Argo Rollout (a CRD with a pod template) on the node's network."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("canary", api_version="argoproj.io/v1alpha1", kind="Rollout", metadata=kit.metadata("canary"),
    spec={"replicas": 2, "selector": kit.SELECTOR, "strategy": {"canary": {"steps": [{"setWeight": 20}]}},
          "template": {"metadata": {"labels": kit.LABELS}, "spec": kit.pod_spec(hostNetwork=True)}})
