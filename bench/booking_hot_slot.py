"""Hot-slot benchmark: how fast booking holds seats on one slot everybody wants.

Run against a running platform (``make up``; catalog on 8001, booking on 8002)::

    .venv/bin/python bench/booking_hot_slot.py            # 8,000 holds or 20 s
    .venv/bin/python bench/booking_hot_slot.py --help

It creates, through the public APIs, a territory, a provider, an activity and one slot of
10,000 seats, waits until booking knows the slot, then:

1. measures a bare conditional ``UPDATE`` of one PostgreSQL row (the seat check alone,
   in its own scratch database ``comptoir_bench``) with the same concurrency;
2. runs 64 HTTP/1.1 keep-alive clients (one connection each, a minimal client so that
   the benchmark itself takes little of the cores it shares) holding 1 seat each, as
   fast as they can;
3. counts the seats every way (answers, availability, the office's reservation list)
   to check that nothing was oversold;
4. prints holds/s, latencies, the ratio to the bare UPDATE, where the machine's CPU
   went during each phase (share of a core, and CPU milliseconds per operation for
   each process), and the goal with PASS/MISS per line.

Everything stays on loopback and stops by itself. The holds it makes stay ON_HOLD until
they expire (15 minutes by default) on a slot of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from comptoir_common.settings import DEV_STRIPE_WEBHOOK_SECRET
from comptoir_ops import stripe_sim
from comptoir_ops.infra import database_url, ensure_databases, process_status
from comptoir_ops.tokens import office_token

GOAL_HOLDS_PER_SECOND = 1_000
GOAL_P99_MS = 50.0
GOAL_RATIO = 0.5

# --- output -----------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, flush=True)


def progress(message: str) -> None:
    """One line rewritten in place on a terminal, plain lines otherwise."""
    if sys.stdout.isatty():
        print(f"\r\033[K{message}", end="", flush=True)
    else:
        print(message, flush=True)


def end_progress() -> None:
    if sys.stdout.isatty():
        print(flush=True)


# --- where the CPU goes -------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")
WATCHED = ["catalog", "booking", "payments", "notifications", "kafka", "redis", "otelcol"]


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


#: Prefix of the platform's process names (``Platform.label``): "" for ``make up``.
PROCESS_LABEL = ""


def cpu_sample() -> dict[str, int]:
    """CPU ticks used so far, per component of the platform, by pid (so that a process
    that exits between two samples does not count negative)."""
    sample: dict[str, int] = {}
    for name in WATCHED:
        pid = process_status(PROCESS_LABEL + name) or process_status(name)
        if pid is not None:
            sample[f"{name}:{pid}"] = _cpu_ticks(pid)
    for pid in _postgres_pids():
        sample[f"postgres:{pid}"] = _cpu_ticks(pid)
    sample[f"bench:{os.getpid()}"] = _cpu_ticks(os.getpid())
    return sample


@dataclass
class CpuUse:
    seconds: float
    by_component: dict[str, float] = field(default_factory=dict)  # CPU seconds

    def line(self) -> str:
        cores = os.cpu_count() or 1
        total = sum(self.by_component.values())
        parts = [
            f"{name} {cpu / self.seconds:.0%}"
            for name, cpu in sorted(self.by_component.items(), key=lambda kv: -kv[1])
            if cpu / self.seconds >= 0.01
        ]
        return f"CPU {total / self.seconds:.0%} of one core ({cores} cores): " + ", ".join(parts)

    def per_operation(self, operations: int) -> str:
        """CPU milliseconds each component spent per operation: what a design costs,
        whatever else the machine is doing."""
        parts = [
            f"{name} {1000 * cpu / operations:.2f}"
            for name, cpu in sorted(self.by_component.items(), key=lambda kv: -kv[1])
            if operations and 1000 * cpu / operations >= 0.01
        ]
        return "CPU ms per operation: " + ", ".join(parts)


@contextmanager
def cpu_use() -> Iterator[CpuUse]:
    before, started = cpu_sample(), time.monotonic()
    use = CpuUse(seconds=0.0)
    try:
        yield use
    finally:
        after = cpu_sample()
        use.seconds = max(time.monotonic() - started, 1e-9)
        for key, ticks in after.items():
            name = key.split(":")[0]
            spent = (ticks - before.get(key, 0)) / TICKS
            use.by_component[name] = use.by_component.get(name, 0.0) + max(spent, 0.0)


# --- latency figures ----------------------------------------------------------------------


@dataclass
class Run:
    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful operations
    statuses: dict[str, int] = field(default_factory=dict)
    cpu: CpuUse | None = None

    @property
    def done(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def count(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1


async def drive(
    run: Run,
    clients: int,
    limit: int,
    seconds: float,
    operation: Callable[[int], Any],
) -> None:
    """``clients`` workers call ``operation(worker)`` until ``limit`` operations or
    ``seconds`` have passed, whichever comes first; progress every second."""
    started = time.monotonic()
    deadline = started + seconds
    issued = 0

    async def worker(n: int) -> None:
        nonlocal issued
        while issued < limit and time.monotonic() < deadline:
            issued += 1
            t0 = time.perf_counter()
            outcome = await operation(n)
            elapsed = time.perf_counter() - t0
            run.count(outcome)
            if outcome in ("201", "ok"):
                run.latencies.append(elapsed)

    async def report() -> None:
        while True:
            await asyncio.sleep(1.0)
            elapsed = time.monotonic() - started
            counts = " ".join(f"{k}={v}" for k, v in sorted(run.statuses.items()))
            progress(
                f"  {run.label}: {elapsed:4.0f}s  {run.done:>6,} done  "
                f"{run.done / elapsed:7,.0f}/s  {counts}"
            )

    reporter = asyncio.create_task(report())
    try:
        async with asyncio.timeout(seconds + 30):
            await asyncio.gather(*(worker(n) for n in range(clients)))
    finally:
        reporter.cancel()
        end_progress()
        run.seconds = time.monotonic() - started


# --- the platform -------------------------------------------------------------------------


@dataclass
class HotSlot:
    territory_id: uuid.UUID
    admin_token: str
    slot_id: str


def set_up(catalog: str, booking: str, payments: str, capacity: int, wait: float) -> HotSlot:
    """The slot, and its provider onboarded for payments: otherwise payments would fail
    every hold's payment and booking would release the holds while we count them."""
    territory_id = uuid.uuid4()
    token = office_token(role="admin", territory_id=territory_id, subject="bench")
    with httpx.Client(
        base_url=catalog, headers={"Authorization": f"Bearer {token}"}, timeout=15, trust_env=False
    ) as c:

        def created(answer: httpx.Response) -> dict[str, Any]:
            if answer.status_code != 201:
                raise SystemExit(
                    f"set-up failed: {answer.request.url} {answer.status_code} {answer.text[:300]}"
                )
            body: dict[str, Any] = answer.json()
            return body

        created(c.put(f"/v1/territories/{territory_id}", json={"name": "Bench", "currency": "EUR"}))
        provider = created(
            c.post("/v1/providers", json={"name": "Bench Kayak", "email": "bench@kayak.example"})
        )
        activity = created(
            c.post(
                "/v1/activities",
                json={
                    "provider_id": provider["id"],
                    "title": {"fr": "Banc d'essai", "en": "Benchmark"},
                    "description": {"fr": "Un créneau très demandé.", "en": "A hot slot."},
                    "category": "nautical",
                    "commune": "Embrun",
                    "currency": "EUR",
                    "units": [{"id": "adult", "price_cents": 3500}],
                },
            )
        )
        start = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
        slot = created(
            c.post(
                f"/v1/activities/{activity['id']}/slots",
                json={"start": start.isoformat(), "duration_minutes": 120, "capacity": capacity},
            )
        )
    auth = {"Authorization": f"Bearer {token}"}
    onboarding = _poll(
        lambda: httpx.post(
            f"{payments}/v1/providers/{provider['id']}/onboarding", headers=auth, trust_env=False
        ),
        wait,
        "payments to know the provider",
    )
    account = onboarding.json()["account_id"]
    payload = stripe_sim.build_event(
        "account.updated", stripe_sim.account_object(account), account=account
    )
    webhook = httpx.post(
        f"{payments}/v1/stripe/webhook",
        content=payload,
        headers={
            "Stripe-Signature": stripe_sim.sign(payload, DEV_STRIPE_WEBHOOK_SECRET),
            "Content-Type": "application/json",
        },
        trust_env=False,
    )
    if webhook.status_code != 200:
        raise SystemExit(f"set-up failed: account.updated webhook {webhook.status_code}")
    _poll(
        lambda: httpx.get(
            f"{payments}/v1/providers/{provider['id']}/account", headers=auth, trust_env=False
        ),
        wait,
        "the provider's charges to be enabled",
        ok=lambda r: bool(r.status_code == 200 and r.json().get("charges_enabled")),
    )
    _poll(
        lambda: httpx.get(f"{booking}/v1/slots/{slot['id']}/availability", trust_env=False),
        wait,
        "booking to learn the slot, bookable once the provider's charges are enabled",
        ok=lambda r: bool(r.status_code == 200 and r.json().get("bookable")),
    )
    return HotSlot(territory_id, token, slot["id"])


def _poll(
    call: Callable[[], httpx.Response],
    wait: float,
    what: str,
    ok: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
) -> httpx.Response:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        answer = call()
        if ok(answer):
            return answer
        time.sleep(0.2)
    raise SystemExit(f"timed out after {wait:.0f}s waiting for {what}")


class KeepAliveClient:
    """One HTTP/1.1 keep-alive connection speaking just enough HTTP for JSON POSTs.

    The benchmark shares the machine's cores with the platform it measures: a general
    client (httpx costs about 1 ms of CPU per request) would take a large share of them.
    """

    def __init__(self, url: str) -> None:
        parsed = httpx.URL(url)
        self.host, self.port = parsed.host, parsed.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked answers are not expected from this endpoint")
        payload = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def hold_seats(
    booking: str, slot_id: str, clients: int, limit: int, seconds: float
) -> tuple[Run, int]:
    """The holds; answers the run and the seats granted by 201 answers (warm-up included)."""
    run = Run("holds")
    granted = 0
    connections = [KeepAliveClient(booking) for _ in range(clients)]

    async def hold(n: int) -> str:
        nonlocal granted
        body = {
            "slot_id": slot_id,
            "units": [{"id": "adult", "quantity": 1}],
            "visitor": {
                "name": "Jeanne Martin",
                "email": f"bench-{uuid.uuid4().hex[:12]}@example.org",
                "locale": "fr",
            },
        }
        try:
            status, answer = await connections[n].post_json(
                "/v1/reservations", json.dumps(body).encode()
            )
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await connections[n].close()
            return type(exc).__name__
        if status == 201:
            granted += int(json.loads(answer)["seats"])
        return str(status)

    try:
        # one request per client opens the keep-alive connections; not timed
        await asyncio.gather(*(hold(n) for n in range(clients)))
        with cpu_use() as cpu:
            await drive(run, clients, limit, seconds, hold)
        run.cpu = cpu
    finally:
        for connection in connections:
            await connection.close()
    return run, granted


async def bare_updates(database: str, clients: int, limit: int, seconds: float) -> Run:
    """The seat check alone: one conditional UPDATE of one row, autocommit, same concurrency."""
    url = database_url(database)
    setup = await asyncpg.connect(url)
    try:
        await setup.execute(
            "CREATE TABLE IF NOT EXISTS bench_seat "
            "(id int PRIMARY KEY, held int NOT NULL, capacity int NOT NULL)"
        )
        await setup.execute(
            "INSERT INTO bench_seat VALUES (1, 0, 2000000000) "
            "ON CONFLICT (id) DO UPDATE SET held = 0, capacity = 2000000000"
        )
    finally:
        await setup.close()
    pool = await asyncpg.create_pool(url, min_size=clients, max_size=clients)
    run = Run("bare UPDATE")
    try:
        connections = [await pool.acquire() for _ in range(clients)]

        async def update(n: int) -> str:
            status = await connections[n].execute(
                "UPDATE bench_seat SET held = held + 1 WHERE id = 1 AND held + 1 <= capacity"
            )
            return "ok" if status == "UPDATE 1" else "refused"

        with cpu_use() as cpu:
            await drive(run, clients, limit, seconds, update)
        run.cpu = cpu
        for connection in connections:
            await pool.release(connection)
    finally:
        await pool.close()
    return run


def list_reservations(booking: str, token: str, slot_id: str) -> dict[str, tuple[int, int]]:
    """Number and seats of the slot's reservations by status, all pages."""
    by_status: dict[str, tuple[int, int]] = {}
    offset = 0
    with httpx.Client(
        base_url=booking, headers={"Authorization": f"Bearer {token}"}, timeout=30, trust_env=False
    ) as c:
        while True:
            answer = c.get(
                "/v1/reservations", params={"slot_id": slot_id, "limit": 500, "offset": offset}
            )
            answer.raise_for_status()
            page = answer.json()
            for r in page:
                count, seats = by_status.get(r["status"], (0, 0))
                by_status[r["status"]] = (count + 1, seats + int(r["seats"]))
            offset += len(page)
            if len(page) < 500:
                return by_status


@dataclass
class SeatCount:
    capacity: int
    granted: int  # seats answered 201
    taken: int  # availability: on_hold + confirmed
    remaining: int
    by_status: dict[str, tuple[int, int]]  # the office's list: status -> (reservations, seats)

    @property
    def active(self) -> int:
        return sum(self.by_status.get(s, (0, 0))[1] for s in ("ON_HOLD", "CONFIRMED"))

    @property
    def listed(self) -> int:
        return sum(seats for _, seats in self.by_status.values())

    @property
    def oversold(self) -> bool:
        """More seats taken than the slot has, counted any way, or counts that disagree:
        every seat answered 201 is in the list, and the active ones are what
        availability counts."""
        return (
            max(self.taken, self.active) > self.capacity
            or self.active != self.taken
            or self.listed != self.granted
        )


def count_seats(booking: str, token: str, slot_id: str, capacity: int, granted: int) -> SeatCount:
    """Availability and the list as of one instant: the list is read between two equal
    availability reads (no hold is being made any more; holds only go back)."""

    def seats() -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(
            f"{booking}/v1/slots/{slot_id}/availability", trust_env=False
        ).json()
        return body

    for _ in range(20):
        before = seats()
        by_status = list_reservations(booking, token, slot_id)
        after = seats()
        if before == after:
            taken = int(after["on_hold"]) + int(after["confirmed"])
            return SeatCount(capacity, granted, taken, int(after["remaining"]), by_status)
    raise SystemExit("the slot's counts kept moving while being read")


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", default="http://127.0.0.1:8001")
    parser.add_argument("--booking", default="http://127.0.0.1:8002")
    parser.add_argument("--payments", default="http://127.0.0.1:8003")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (64)")
    parser.add_argument("--holds", type=int, default=8_000, help="stop after this many (8000)")
    parser.add_argument("--seconds", type=float, default=20, help="or after this long (20)")
    parser.add_argument("--capacity", type=int, default=10_000, help="seats of the slot")
    parser.add_argument("--updates", type=int, default=200_000, help="bare UPDATEs at most")
    parser.add_argument("--update-seconds", type=float, default=10, help="bare UPDATE phase")
    parser.add_argument("--database", default="comptoir_bench", help="scratch database")
    parser.add_argument(
        "--label", default="", help="process name prefix of the platform (Platform.label)"
    )
    args = parser.parse_args()
    global PROCESS_LABEL
    PROCESS_LABEL = args.label
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(name, None)

    say(f"booking hot-slot benchmark: {args.clients} clients, booking {args.booking}")
    say(f"- setting up a territory, a provider, an activity and a {args.capacity:,}-seat slot")
    hot = set_up(args.catalog, args.booking, args.payments, args.capacity, wait=60)
    say(f"  slot {hot.slot_id} known to booking")

    say(f"- bare conditional UPDATE of one row, database {args.database}")
    ensure_databases([args.database])
    updates = asyncio.run(
        bare_updates(args.database, args.clients, args.updates, args.update_seconds)
    )

    say(f"- holds of 1 seat: {args.holds:,} or {args.seconds:.0f} s, whichever comes first")
    holds, granted = asyncio.run(
        hold_seats(args.booking, hot.slot_id, args.clients, args.holds, args.seconds)
    )

    say("- counting the seats")
    count = count_seats(args.booking, hot.admin_token, hot.slot_id, args.capacity, granted)
    oversold = count.oversold

    ratio = holds.rate / updates.rate if updates.rate else 0.0
    errors = sum(v for k, v in holds.statuses.items() if k not in ("201", "409"))
    say("")
    say(f"{'':<14}{'ops':>8}{'ops/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  answers")
    for run in (holds, updates):
        counts = " ".join(f"{k}={v}" for k, v in sorted(run.statuses.items()))
        say(
            f"{run.label:<14}{run.done:>8,}{run.rate:>9,.0f}{run.percentile_ms(0.5):>9.1f}"
            f"{run.percentile_ms(0.99):>9.1f}{run.percentile_ms(1.0):>9.1f}  {counts}"
        )
    say(
        f"holds: 201={holds.statuses.get('201', 0)} 409={holds.statuses.get('409', 0)} "
        f"errors={errors}"
    )
    statuses = ", ".join(
        f"{k} {n:,}/{seats:,}" for k, (n, seats) in sorted(count.by_status.items())
    )
    say(
        f"seats: capacity {args.capacity:,}; granted by 201 answers {count.granted:,}; "
        f"availability on_hold+confirmed {count.taken:,} (remaining {count.remaining:,}); "
        f"office's list (reservations/seats) {statuses or 'empty'}"
    )
    for run in (updates, holds):
        if run.cpu:
            say(f"{run.label}: {run.cpu.line()}")
            say(f"{' ' * len(run.label)}  {run.cpu.per_operation(run.done)}")
    say("")
    goal = [
        (
            "holds/s",
            f">= {GOAL_HOLDS_PER_SECOND:,}",
            f"{holds.rate:,.0f}",
            holds.rate >= GOAL_HOLDS_PER_SECOND,
        ),
        (
            "p99 latency",
            f"< {GOAL_P99_MS:.0f} ms",
            f"{holds.percentile_ms(0.99):.1f} ms",
            holds.percentile_ms(0.99) < GOAL_P99_MS,
        ),
        ("holds/s / UPDATEs/s", f">= {GOAL_RATIO}", f"{ratio:.3f}", ratio >= GOAL_RATIO),
        ("oversold", "zero", "none" if not oversold else "OVERSOLD", not oversold),
    ]
    say(f"{'goal':<22}{'target':<12}{'measured':<12}")
    for name, target, measured, ok in goal:
        say(f"{name:<22}{target:<12}{measured:<12}{'PASS' if ok else 'MISS'}")
    return 2 if oversold else 0


if __name__ == "__main__":
    sys.exit(main())
