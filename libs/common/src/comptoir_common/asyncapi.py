"""AsyncAPI 3.0 documents built from the event contracts a service publishes and consumes."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from comptoir_common.events.envelope import Envelope, EventPayload, dlq_topic


def _message_name(contract: type[EventPayload]) -> str:
    return contract.__name__


def build_asyncapi(
    *,
    service: str,
    title: str,
    version: str,
    bootstrap_servers: str,
    publishes: Sequence[type[EventPayload]],
    consumes: Sequence[type[EventPayload]],
) -> dict[str, Any]:
    envelope_schema = Envelope.model_json_schema()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Envelope": envelope_schema}
    for contract in {*publishes, *consumes}:
        name = _message_name(contract)
        payload_schema = contract.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub_name, sub_schema in payload_schema.pop("$defs", {}).items():
            schemas[sub_name] = sub_schema
        schemas[name] = payload_schema
        messages[name] = {
            "name": name,
            "title": contract.event_type,
            "summary": contract.description,
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "traceparent": {"type": "string", "description": "W3C trace context"},
                    "comptoir-event-id": {"type": "string", "format": "uuid"},
                    "comptoir-event-type": {"type": "string", "const": contract.event_type},
                },
            },
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/Envelope"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": contract.event_type},
                            "data": {"$ref": f"#/components/schemas/{name}"},
                        },
                    },
                ]
            },
            "bindings": {
                "kafka": {"key": {"type": "string", "description": contract.aggregate_field}}
            },
        }
        channels[name] = {
            "address": contract.event_type,
            "description": f"{contract.description} Keyed by {contract.aggregate_field}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
    for contract in publishes:
        name = _message_name(contract)
        operations[f"publish{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"{service} publishes {contract.event_type} through its outbox.",
        }
    for contract in consumes:
        name = _message_name(contract)
        operations[f"consume{name}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": (
                f"{service} consumes {contract.event_type} (consumer group {service}); "
                f"failures go to {dlq_topic(contract.event_type)}."
            ),
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"{title} events", "version": version},
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": bootstrap_servers, "protocol": "kafka"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render_asyncapi_html(doc: dict[str, Any]) -> str:
    """A self-contained page (no external script) listing every operation and schema."""
    rows = []
    for op_name, op in doc["operations"].items():
        channel = op["channel"]["$ref"].rsplit("/", 1)[1]
        msg = doc["components"]["messages"][channel]
        schema = doc["components"]["schemas"][channel]
        rows.append(
            "<section><h2>{verb} <code>{topic}</code></h2><p>{summary}</p>"
            "<p>{desc}</p><details><summary>payload <code>data</code> schema</summary>"
            "<pre>{schema}</pre></details></section>".format(
                verb="Publishes" if op["action"] == "send" else "Consumes",
                topic=html.escape(msg["title"]),
                summary=html.escape(op["summary"]),
                desc=html.escape(msg.get("summary") or ""),
                schema=html.escape(json.dumps(schema, indent=2)),
            )
        )
        del op_name
    envelope = html.escape(json.dumps(doc["components"]["schemas"]["Envelope"], indent=2))
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(doc['info']['title'])}</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}"
        "code{background:#f4f4f4}</style>"
        f"<h1>{html.escape(doc['info']['title'])}</h1>"
        "<p>AsyncAPI 3.0 document: <a href=asyncapi.json>asyncapi.json</a>. Every message is "
        "an envelope whose <code>data</code> follows the event's schema.</p>"
        + "".join(rows)
        + f"<section><h2>Envelope</h2><pre>{envelope}</pre></section></html>"
    )
