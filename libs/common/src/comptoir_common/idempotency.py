"""``Idempotency-Key`` with Stripe's semantics, stored in Redis for 24 hours.

- same key, same body: the first answer (status and body) is replayed;
- same key, another body: 422;
- same key while the first request still runs: 409, never two executions;
- an unexpected server error releases the key so that the client can retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from redis.asyncio import Redis

from comptoir_common.problems import PROBLEM_JSON, Problem

TTL_SECONDS = 24 * 3600
LOCK_SECONDS = 60
REPLAY_HEADER = "Idempotent-Replayed"

Outcome = tuple[int, Any]


def fingerprint(body: Any) -> str:
    canonical = json.dumps(jsonable_encoder(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _validate_key(key: str) -> None:
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise Problem(
            400,
            "Idempotency-Key must be 1 to 255 printable characters.",
            kind="bad-idempotency-key",
        )


async def run_idempotent(
    redis: Redis,
    *,
    scope: str,
    key: str | None,
    body: Any,
    execute: Callable[[], Awaitable[Outcome]],
    namespace: str = "",
) -> Response:
    """Run ``execute`` at most once per (scope, key); answer its outcome as JSON.
    ``namespace`` (the deployment's, as for Kafka topics) keeps deployments sharing one
    Redis apart: a key replayed elsewhere would answer ids that do not exist there."""
    if key is None:
        status, payload = await execute()
        if isinstance(payload, BaseModel):
            # what jsonable_encoder then JSONResponse would write, serialized by pydantic
            return Response(
                payload.model_dump_json(by_alias=True),
                status_code=status,
                media_type="application/json",
            )
        return JSONResponse(jsonable_encoder(payload), status_code=status)
    _validate_key(key)
    digest = fingerprint(body)
    stored_key = f"{namespace}idem:{scope}:{key}"
    lock_key = f"{stored_key}:lock"

    async def replay_if_stored() -> JSONResponse | None:
        stored = await redis.get(stored_key)
        if stored is None:
            return None
        record = json.loads(stored)
        if record["fingerprint"] != digest:
            raise Problem(
                422,
                "This Idempotency-Key was already used with a different request body.",
                kind="idempotency-key-reused",
            )
        return JSONResponse(
            record["body"],
            status_code=record["status"],
            media_type=record.get("media_type", "application/json"),
            headers={REPLAY_HEADER: "true"},
        )

    if (replay := await replay_if_stored()) is not None:
        return replay
    if not await redis.set(lock_key, digest, nx=True, ex=LOCK_SECONDS):
        if (replay := await replay_if_stored()) is not None:
            return replay
        raise Problem(
            409,
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            kind="idempotency-key-in-use",
            headers={"Retry-After": "1"},
        )
    try:
        try:
            status, payload = await execute()
            media_type = "application/json"
            encoded = jsonable_encoder(payload)
        except Problem as problem:
            if problem.status >= 500:
                raise
            status, encoded, media_type = problem.status, problem.body(), PROBLEM_JSON
        record = {
            "fingerprint": digest,
            "status": status,
            "body": encoded,
            "media_type": media_type,
        }
        await redis.set(stored_key, json.dumps(record), ex=TTL_SECONDS)
        return JSONResponse(encoded, status_code=status, media_type=media_type)
    finally:
        await redis.delete(lock_key)
