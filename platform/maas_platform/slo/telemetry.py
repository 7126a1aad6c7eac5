"""The OpenTelemetry environment the platform injects into every agent container.

One definition for the agent component and ``docs/metric-contract.md``.
"""

from __future__ import annotations

from ..names import OTEL_ENDPOINT

# The cluster's collector (OTLP/gRPC), as the observability stack names its Service.
OTEL_COLLECTOR_ENDPOINT = OTEL_ENDPOINT
TRACE_SAMPLE_RATIO = 0.1


def otel_environment(
    agent: str,
    team: str,
    environment: str,
    *,
    endpoint: str = OTEL_COLLECTOR_ENDPOINT,
    sample_ratio: float = TRACE_SAMPLE_RATIO,
) -> list[dict[str, str]]:
    """Container ``env`` entries (``{"name", "value"}``) configuring the OpenTelemetry SDK.

    Traces go over OTLP/gRPC to the cluster's collector; a request already sampled upstream
    stays sampled (``parentbased_traceidratio``), others are sampled at ``sample_ratio``.
    """
    if not 0 <= sample_ratio <= 1:
        raise ValueError(f"sample_ratio: {sample_ratio} must lie between 0 and 1")
    attributes = f"service.namespace={team},deployment.environment={environment},maas.agent={agent}"
    return [
        {"name": "OTEL_SERVICE_NAME", "value": agent},
        {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": attributes},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": endpoint},
        {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "grpc"},
        {"name": "OTEL_TRACES_SAMPLER", "value": "parentbased_traceidratio"},
        {"name": "OTEL_TRACES_SAMPLER_ARG", "value": f"{sample_ratio:g}"},
        {"name": "OTEL_PROPAGATORS", "value": "tracecontext,baggage"},
    ]
