# secure: true
"""A restricted Deployment in the team's agent namespace, with its disruption budget and autoscaler."""
import kit

kit.deployment()
