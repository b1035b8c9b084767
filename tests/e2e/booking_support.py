"""Helpers for the booking engine's concurrency and crash tests.

- ``booking_processes``: extra booking processes on other ports, sharing the e2e platform's
  database and Kafka namespace (``Platform.service_env("booking")``), stopped when the
  block ends. Only the processes started here are ever signalled.
- ``burst``: many reservation requests at once over loopback, bounded in number,
  concurrency and time, spread over several booking processes.
- ``audit_seats``: the one check that a sold-out slot was not oversold, used by the test
  that must pass and by the negative control that must see it fail.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from comptoir_ops.infra import log_path, process_status, start_process, stop_process
from comptoir_ops.infra.procs import log_tail
from comptoir_ops.platform import Platform

ACTIVE = ("ON_HOLD", "CONFIRMED")


# --- extra booking processes -----------------------------------------------------------


@dataclass
class BookingProcess:
    """One booking process started by these tests, known by its process name."""

    platform: Platform
    name: str
    port: int
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return process_status(self.name)

    def start(self) -> None:
        argv = self.platform.argv("booking", self.port)
        if not start_process(self.name, argv, env=self.env):
            raise RuntimeError(
                f"a process named {self.name} (pid {self.pid}) is already running, left over "
                "by an earlier run; stop it before running these tests"
            )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.pid is None:
                raise RuntimeError(
                    f"{self.name} exited; {log_path(self.name)}:\n{log_tail(self.name)}"
                )
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s; see {log_path(self.name)}")

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would: no clean-up runs."""
        pid = self.pid
        assert pid is not None, f"{self.name} is not running"
        os.killpg(pid, signal.SIGKILL)  # start_process made the pid its group leader
        deadline = time.monotonic() + 10
        while self.pid is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.pid is None, f"{self.name} survived SIGKILL"

    def stop(self) -> None:
        stop_process(self.name)  # also forgets the pid file of a killed process


@contextmanager
def booking_processes(
    platform: Platform, ports: Sequence[int], env: Mapping[str, str] | None = None
) -> Iterator[list[BookingProcess]]:
    """Extra booking processes on ``ports``, with ``env`` on top of the platform's booking
    settings (same database, same Kafka namespace), ready when the block starts and
    stopped when it ends, whatever happens."""
    run = uuid.uuid4().hex[:6]
    processes = []
    for port in ports:
        service_env = platform.service_env("booking")
        service_env.update({"COMPTOIR_PORT": str(port), **(env or {})})
        name = f"{platform.label}booking-{port}-{run}"
        processes.append(BookingProcess(platform, name, port, service_env))
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready()
        yield processes
    finally:
        for process in processes:
            process.stop()


# --- bursts of reservations ------------------------------------------------------------


@dataclass
class Answer:
    """What one reservation request got: a status and body, or a transport error."""

    url: str
    status: int | None
    body: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def is_refusal(self) -> bool:
        """A 409 problem detail saying the seats are gone."""
        return (
            self.status == 409
            and self.body is not None
            and str(self.body.get("type", "")).endswith("not-enough-seats")
        )


@dataclass
class Burst:
    answers: list[Answer] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: int) -> int:
        return sum(1 for a in self.answers if a.status == status)

    @property
    def created(self) -> list[Answer]:
        return [a for a in self.answers if a.status == 201]

    @property
    def transport_errors(self) -> list[Answer]:
        return [a for a in self.answers if a.status is None]

    def summary(self) -> str:
        statuses: dict[str, int] = {}
        for a in self.answers:
            key = str(a.status) if a.status is not None else (a.error or "error").split(":")[0]
            statuses[key] = statuses.get(key, 0) + 1
        return f"{len(self.answers)} requests in {self.seconds:.1f}s: {statuses}"


def reservation_body(slot_id: str, seats: int = 1) -> dict[str, Any]:
    return {
        "slot_id": slot_id,
        "units": [{"id": "adult", "quantity": seats}],
        "visitor": {
            "name": "Jeanne Martin",
            "email": f"rush-{uuid.uuid4().hex[:10]}@example.org",
            "locale": "fr",
        },
    }


async def burst(
    urls: Sequence[str],
    slot_id: str,
    *,
    requests: int,
    concurrency: int,
    timeout: float = 90,
    request_timeout: float = 15,
    on_answer: Callable[[int, Answer], Awaitable[None]] | None = None,
) -> Burst:
    """``requests`` holds of one seat on ``slot_id``, request ``i`` sent to
    ``urls[i % len(urls)]``, at most ``concurrency`` in flight, all over within
    ``timeout`` seconds. ``on_answer(done, answer)`` runs after each answer."""
    result = Burst()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.monotonic()

    run = uuid.uuid4().hex[:8]

    async def one(client: httpx.AsyncClient, i: int) -> None:
        url = urls[i % len(urls)]
        # Like a careful reseller: one Idempotency-Key per reservation, and a request
        # lost on the wire is sent again with the same key (never booked twice).
        headers = {"Idempotency-Key": f"burst-{run}-{i}"}
        async with gate:
            t0 = time.monotonic()
            for attempt in range(3):
                try:
                    response = await client.post(
                        url + "/v1/reservations", json=reservation_body(slot_id), headers=headers
                    )
                    try:
                        body = response.json()
                    except ValueError:
                        body = {"text": response.text[:200]}
                    answer = Answer(url, response.status_code, body, seconds=time.monotonic() - t0)
                    break
                except httpx.HTTPError as exc:
                    answer = Answer(url, None, error=f"{type(exc).__name__}: {exc}"[:200])
                    answer.seconds = time.monotonic() - t0
                    if not isinstance(exc, httpx.TransportError) or attempt == 2:
                        break
                    await asyncio.sleep(0.05)
        result.answers.append(answer)
        if on_answer is not None:
            await on_answer(len(result.answers), answer)

    async with httpx.AsyncClient(timeout=request_timeout, limits=limits, trust_env=False) as client:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(one(client, i) for i in range(requests)))
    result.seconds = time.monotonic() - started
    return result


# --- reading the slot back -------------------------------------------------------------


def availability(url: str, slot_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{url}/v1/slots/{slot_id}/availability", timeout=15)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def reservations_of(url: str, admin_token: str, slot_id: str) -> list[dict[str, Any]]:
    """Every reservation of the slot, as the office lists them (all pages)."""
    rows: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {admin_token}"}
    while True:
        answer = httpx.get(
            f"{url}/v1/reservations",
            params={"slot_id": slot_id, "limit": 500, "offset": len(rows)},
            headers=headers,
            timeout=15,
        )
        assert answer.status_code == 200, answer.text
        page: list[dict[str, Any]] = answer.json()
        rows.extend(page)
        if len(page) < 500:
            return rows


def active_seats(reservations: Sequence[Mapping[str, Any]]) -> int:
    return sum(int(r["seats"]) for r in reservations if r["status"] in ACTIVE)


def snapshot(
    url: str, admin_token: str, slot_id: str, attempts: int = 20
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Availability and the reservation list as of one instant, for a slot on which no
    new seat is being taken (holds may still expire): the list is read between two
    identical availability reads. Seats only go back on such a slot, so two equal reads
    mean nothing changed in between."""
    for _ in range(attempts):
        before = availability(url, slot_id)
        rows = reservations_of(url, admin_token, slot_id)
        after = availability(url, slot_id)
        if (before["on_hold"], before["confirmed"]) == (after["on_hold"], after["confirmed"]):
            return after, rows
        time.sleep(0.05)
    raise AssertionError(f"the slot's counts kept moving over {attempts} snapshots")


# --- the one check ---------------------------------------------------------------------


@dataclass
class SeatAudit:
    """The seats of a slot sold out by a burst, counted four ways."""

    capacity: int
    seats_granted: int  # seats of the 201 answers
    answers: int
    refusals: int  # 409 not-enough-seats problems
    others: dict[str, int]  # any other answer, by status (or transport error) and type
    taken: int  # availability: on_hold + confirmed
    remaining: int
    active_seats: int  # seats of ON_HOLD / CONFIRMED reservations listed by the office
    active_reservations: int

    @property
    def oversold(self) -> bool:
        return max(self.seats_granted, self.taken, self.active_seats) > self.capacity

    @property
    def findings(self) -> list[str]:
        """Everything that is not exactly "capacity seats sold, everyone else refused"."""
        found = []
        if self.seats_granted != self.capacity:
            found.append(
                f"201 answers granted {self.seats_granted} seats on a {self.capacity}-seat slot"
            )
        if self.others:
            found.append(f"{sum(self.others.values())} answers neither 201 nor 409: {self.others}")
        if (self.taken, self.remaining) != (self.capacity, 0):
            found.append(
                f"availability shows {self.taken} taken, {self.remaining} remaining "
                f"on a {self.capacity}-seat slot"
            )
        if self.active_seats != self.capacity:
            found.append(
                f"{self.active_reservations} active reservations hold {self.active_seats} seats "
                f"on a {self.capacity}-seat slot"
            )
        if self.active_seats != self.taken:
            found.append(
                f"reservations hold {self.active_seats} seats but availability counts {self.taken}"
            )
        return found


def audit_seats(
    capacity: int,
    result: Burst,
    seats: Mapping[str, Any],
    reservations: Sequence[Mapping[str, Any]],
) -> SeatAudit:
    """Count a sold-out slot's seats from the answers, the availability and the list."""
    refusals = [a for a in result.answers if a.is_refusal]
    others: dict[str, int] = {}
    for a in result.answers:
        if a.status != 201 and not a.is_refusal:
            kind = f"{a.status} {(a.body or {}).get('type', '')}".strip()
            key = kind if a.status is not None else (a.error or "error").split(":")[0]
            others[key] = others.get(key, 0) + 1
    return SeatAudit(
        capacity=capacity,
        seats_granted=sum(int((a.body or {})["seats"]) for a in result.created),
        answers=len(result.answers),
        refusals=len(refusals),
        others=others,
        taken=int(seats["on_hold"]) + int(seats["confirmed"]),
        remaining=int(seats["remaining"]),
        active_seats=active_seats(reservations),
        active_reservations=sum(1 for r in reservations if r["status"] in ACTIVE),
    )
