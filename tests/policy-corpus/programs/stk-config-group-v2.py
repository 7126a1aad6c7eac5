# expect: [MAAS-K8S-002]
"""A ConfigGroup v2 holding its manifest inline (a multi-language component, its objects judged from
the YAML it holds) with a privileged pod."""
import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup("debug", yaml="""
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: intake}
spec:
  containers: [{name: shell, image: "busybox:1.36", securityContext: {privileged: true}}]
""")
