# secure: true
# platform: prod
"""A restricted prod Deployment pinned by digest, with its budget and autoscaler."""
import kit

kit.deployment()
