# expect: [MAAS-SEC-017]
"""A Kubernetes Secret in a ConfigGroup v2's inline YAML: its value is written in the program and
reaches the state in clear (a typed Secret would at least mark it a Pulumi secret)."""
import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup("api", yaml="""
apiVersion: v1
kind: Secret
metadata: {name: api, namespace: intake}
stringData:
  OPENAI_API_KEY: sk-proj-0123456789abcdefghijklmnopqrstuvwxyzABCD
""")
