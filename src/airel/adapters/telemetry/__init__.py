"""Telemetry: request traces as OpenTelemetry spans (:mod:`.otel`) and the gateway's
Prometheus metrics (:mod:`.prometheus`). Import the module you need; neither loads the other.
"""
