"""OpenTelemetry Collector built with the official builder (ocb) from ops/otelcol/builder.yaml.

OTLP in on 127.0.0.1:4317 (gRPC) and :4318 (HTTP); traces out as OTLP JSON lines
in ``.local/otel/traces.jsonl``, which :func:`read_spans` flattens for tests.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx

from .base import InfraError, ProcessComponent, Progress, go_install, quiet, run
from .paths import cache_dir, local_dir, ops_dir

HOST = "127.0.0.1"
HTTP_PORT = 4318
GRPC_PORT = 4317
OTLP_HTTP_ENDPOINT = f"http://{HOST}:{HTTP_PORT}"
BUILDER_MODULE = "go.opentelemetry.io/collector/cmd/builder"


def _manifest() -> Path:
    return ops_dir() / "otelcol" / "builder.yaml"


def collector_version() -> str:
    """``dist.version`` of the builder manifest; the builder of the same version builds it."""
    match = re.search(
        r"^dist:\n(?:[ \t]+.*\n)*?[ \t]+version:[ \t]*(\S+)", _manifest().read_text(), re.M
    )
    if match is None:
        raise InfraError(f"{_manifest()} has no dist.version")
    return match.group(1)


def traces_path() -> Path:
    return local_dir("otel") / "traces.jsonl"


def _any_value(value: dict[str, Any]) -> Any:
    """An OTLP JSON AnyValue as a plain Python value."""
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return _attributes(value["kvlistValue"].get("values", []))
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in value:
            return value[key]
    return None


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _any_value(item.get("value", {})) for item in items}


def read_spans() -> list[dict[str, Any]]:
    """Every span written so far, flattened.

    Keys: trace_id, span_id, parent_span_id (hex), name, kind, service_name, attributes.
    """
    path = traces_path()
    if not path.exists():
        return []
    spans: list[dict[str, Any]] = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        for resource_spans in json.loads(line).get("resourceSpans", []):
            resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    spans.append(
                        {
                            "trace_id": span.get("traceId", ""),
                            "span_id": span.get("spanId", ""),
                            "parent_span_id": span.get("parentSpanId", ""),
                            "name": span.get("name", ""),
                            "kind": span.get("kind", 0),
                            "service_name": resource.get("service.name", ""),
                            "attributes": _attributes(span.get("attributes", [])),
                        }
                    )
    return spans


def clear_spans() -> None:
    """Empty traces.jsonl in place (the collector keeps its file handle open)."""
    path = traces_path()
    if path.exists():
        with path.open("r+") as handle:
            handle.truncate(0)


class Collector(ProcessComponent):
    name = "otelcol"
    endpoint = f"{OTLP_HTTP_ENDPOINT} (gRPC {HOST}:{GRPC_PORT})"

    def __init__(self) -> None:
        self.version = collector_version()

    @property
    def build_dir(self) -> Path:
        return cache_dir("otelcol", self.version)

    @property
    def binary(self) -> Path:
        return self.build_dir / "build" / "otelcol-comptoir"

    def install(self, progress: Progress = quiet) -> None:
        digest = hashlib.sha256(_manifest().read_bytes()).hexdigest()
        stamp = self.build_dir / "builder.yaml.sha256"
        if self.binary.exists() and stamp.exists() and stamp.read_text() == digest:
            return
        builder = go_install(BUILDER_MODULE, f"v{self.version}", progress)
        progress(
            f"building the OpenTelemetry Collector {self.version} (a few minutes the first time)"
        )
        run([str(builder), f"--config={_manifest()}"], cwd=self.build_dir)
        stamp.write_text(digest)

    def command(self) -> list[str]:
        return [str(self.binary), f"--config={ops_dir() / 'otelcol' / 'config.yaml'}"]

    def environment(self) -> dict[str, str]:
        return {"COMPTOIR_OTEL_DIR": str(local_dir("otel"))}

    def is_ready(self) -> bool:
        try:
            response = httpx.post(
                f"{OTLP_HTTP_ENDPOINT}/v1/traces",
                content=b"{}",
                headers={"Content-Type": "application/json"},
                timeout=1,
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200
