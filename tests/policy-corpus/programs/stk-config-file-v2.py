# expect: [MAAS-STK-009]
"""A yaml.v2.ConfigFile applying a manifest file the gate cannot read offline."""
import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("extras", file="extras.yaml")
