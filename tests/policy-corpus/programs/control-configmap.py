# secure: true
"""A ConfigMap of ordinary settings (names of things, numbers, URLs without credentials)."""
import kit
import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap("settings", metadata=kit.metadata("settings"), data={
    "MODEL": "gpt-4.1-mini", "MAX_TOKENS": "4096", "LOG_LEVEL": "info", "PASSWORD_MIN_LENGTH": "12",
    "TOKEN_ENDPOINT": "https://auth.example.com/oauth2/token", "SECRET_NAME": "intake-secrets"})
