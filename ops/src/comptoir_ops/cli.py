"""``comptoir``: the one command line for operator tasks; the Makefile calls it."""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from comptoir_common.settings import DEV_STRIPE_WEBHOOK_SECRET
from comptoir_ops import demo, infra, stripe_sim
from comptoir_ops.infra.paths import local_dir
from comptoir_ops.platform import OFFICE_STAFF_EMAIL, Platform
from comptoir_ops.tokens import office_token

app = typer.Typer(
    help="Run and operate a local Comptoir platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
topics_app = typer.Typer(help="Kafka topics.", no_args_is_help=True)
mail_app = typer.Typer(help="Mail captured by the local SMTP server.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(mail_app, name="mail")
console = Console()


def _step(message: str) -> None:
    console.print(f"[cyan]•[/cyan] {message}")


@app.command()
def up(
    services: Annotated[
        bool, typer.Option(help="Start the services and the storefront too.")
    ] = True,
    seed: Annotated[bool, typer.Option(help="Load the demo data.")] = True,
) -> None:
    """Install what is missing, start everything on loopback, load the demo data."""
    started_at = time.monotonic()
    with console.status("[bold]Starting the local infrastructure…") as status:

        def progress(message: str) -> None:
            status.update(f"[bold]{message}")
            _step(message)

        # `make test` brings up the infrastructure alone, with the browser its tests drive.
        infra.up(progress, browser=not services)
        platform = Platform()
        platform.prepare(progress)
        if not services:
            console.print(
                f"[green]Infrastructure ready[/green] in {time.monotonic() - started_at:.0f}s"
            )
            return
        platform.start(progress)
        progress("waiting for the services to be ready")
        platform.wait_ready()
        if seed:
            demo.seed(platform, progress)
    _print_summary(platform, time.monotonic() - started_at)


def _relative(path: object) -> str:
    try:
        return str(Path(str(path)).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_summary(platform: Platform, elapsed: float) -> None:
    say = console.print
    say(f"\n[bold green]Comptoir is up[/bold green] ({elapsed:.0f}s), on loopback:\n")
    for row in platform.status():
        base = row["endpoint"]
        if row["name"] == "web":
            continue
        say(
            f"  [bold]{row['name']:<14}[/bold] {base}   API docs {base}/docs   "
            f"events {base}/asyncapi",
            soft_wrap=True,
        )
    say("")
    for row in infra.status():
        say(f"  {row['name']:<14} {row['endpoint']}", soft_wrap=True)
    say("\n  mail sent      http://127.0.0.1:8025/api/messages  (or: .venv/bin/comptoir mail list)")
    say("\nFollow a log:")
    for row in platform.status():
        say(f"  tail -f {_relative(row['log'])}", soft_wrap=True)
    say(f"  (infrastructure logs: {_relative(local_dir('log'))}/)")
    token = office_token(role="admin", territory_id=demo.DEMO_TERRITORY_ID)
    if "web" in platform.ports:
        web = platform.url("web")
        say(
            f"\n[bold]Storefront[/bold] for visitors: {web}/  (French {web}/fr/, "
            f"English {web}/en/)",
            soft_wrap=True,
        )
        provider_email = demo.PROVIDERS[0][1]
        say(
            f"[bold]Provider portal[/bold]: {web}/fr/portal/  (sign in as {provider_email})\n"
            f"[bold]Office console and observatory[/bold]: {web}/fr/office/  (sign in as "
            f"{OFFICE_STAFF_EMAIL})\n"
            "  Sign-in links arrive in the local mail catcher: .venv/bin/comptoir mail list, "
            "then .venv/bin/comptoir mail show <id>",
            soft_wrap=True,
        )
    say(f"\nDemo territory Serre-Ponçon: {demo.DEMO_TERRITORY_ID}")
    say("Admin token for it (12 h; `make token` prints a fresh one):")
    print(token)


@app.command()
def down() -> None:
    """Stop exactly what `comptoir up` started."""
    Platform().stop(_step)
    infra.down(_step)
    console.print("[green]stopped[/green]")


@app.command()
def purge() -> None:
    """Drop the platform's databases (PostgreSQL keeps them outside .local/): with
    `make clean`, the next `make up` starts from nothing, like on a fresh machine."""
    postgres = infra.get("postgres")
    if not postgres.is_ready():
        if postgres.pid() is None and not shutil.which("pg_ctlcluster"):
            console.print("PostgreSQL is not installed: no database to drop")
            return
        postgres.start()
        postgres.wait_ready()
    dropped = infra.drop_comptoir_databases()
    console.print(f"dropped {len(dropped)} database(s): {', '.join(dropped) or 'none'}")


@app.command()
def status() -> None:
    """What runs, where, and whether it is ready."""
    table = Table(title="Comptoir")
    for column in ("name", "endpoint", "running", "ready / pid", "started by comptoir"):
        table.add_column(column)
    for row in infra.status():
        table.add_row(
            str(row["name"]),
            str(row["endpoint"]),
            _yes(row.get("running")),
            str(row.get("pid") or "-"),
            _yes(row.get("started_by_us")),
        )
    for row in Platform().status():
        table.add_row(
            str(row["name"]),
            str(row["endpoint"]),
            _yes(row["running"]),
            f"{'ready' if row['ready'] else 'not ready'} / {row['pid'] or '-'}",
            _yes(row["running"]),
        )
    console.print(table)


def _yes(value: Any) -> str:
    return "[green]yes[/green]" if value else "[dim]no[/dim]"


@app.command()
def seed() -> None:
    """Load the demo data into a running platform (does nothing the second time)."""
    demo.seed(Platform(), _step)


@app.command()
def token(
    role: Annotated[str, typer.Option(help="admin or provider")] = "admin",
    provider: Annotated[
        uuid.UUID | None, typer.Option(help="The provider, for role=provider")
    ] = None,
    territory: Annotated[uuid.UUID, typer.Option(help="Territory")] = demo.DEMO_TERRITORY_ID,
    hours: Annotated[int, typer.Option(min=1, max=24 * 30)] = 12,
) -> None:
    """Print a bearer token for the office staff of a territory, or for one provider."""
    if role not in ("admin", "provider"):
        raise typer.BadParameter("role must be admin or provider", param_hint="--role")
    if role == "provider" and provider is None:
        raise typer.BadParameter("a provider token needs --provider <id>", param_hint="--provider")
    print(
        office_token(
            role=role,  # type: ignore[arg-type]
            territory_id=territory,
            provider_id=provider if role == "provider" else None,
            ttl=timedelta(hours=hours),
        )
    )


@app.command()
def pay(
    reservation: Annotated[uuid.UUID, typer.Argument(help="The reservation to pay")],
    fail: Annotated[bool, typer.Option(help="Send a failed payment instead")] = False,
    territory: Annotated[uuid.UUID, typer.Option()] = demo.DEMO_TERRITORY_ID,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the payment")] = 30,
) -> None:
    """Send payments the signed webhook Stripe would send when the visitor pays.

    stripe-mock sends no webhooks; this plays Stripe's part with the configured webhook
    secret, exactly as Stripe signs it.
    """
    platform = Platform()
    admin = office_token(role="admin", territory_id=territory)
    client = httpx.Client(
        base_url=platform.url("payments"), headers={"Authorization": f"Bearer {admin}"}, timeout=10
    )
    deadline = time.monotonic() + timeout
    with console.status("waiting for the payment to be created…"):
        while True:
            response = client.get(f"/v1/reservations/{reservation}/payment")
            payment = response.json() if response.status_code == 200 else None
            if payment and payment.get("payment_intent_id"):
                break
            if payment and payment.get("status") in ("FAILED", "CANCELED"):
                console.print(f"[red]payment is {payment['status']}[/red]: nothing to pay")
                raise typer.Exit(1)
            if time.monotonic() > deadline:
                console.print(f"[red]no payment for {reservation}[/red]: {response.text}")
                raise typer.Exit(1)
            time.sleep(0.2)
    secret = os.environ.get("COMPTOIR_STRIPE_WEBHOOK_SECRET", DEV_STRIPE_WEBHOOK_SECRET)
    event_type = "payment_intent.payment_failed" if fail else "payment_intent.succeeded"
    status_ = "requires_payment_method" if fail else "succeeded"
    payload = stripe_sim.build_event(
        event_type,
        stripe_sim.payment_intent_object(payment, status_),
        account=payment.get("stripe_account_id"),
    )
    answer = client.post(
        "/v1/stripe/webhook",
        content=payload,
        headers={
            "Stripe-Signature": stripe_sim.sign(payload, secret),
            "Content-Type": "application/json",
        },
    )
    if answer.status_code >= 300:
        console.print(f"[red]webhook refused[/red]: {answer.status_code} {answer.text}")
        raise typer.Exit(1)
    console.print(f"[green]sent {event_type}[/green] for reservation {reservation}")


@topics_app.command("create")
def topics_create(
    partitions: Annotated[int, typer.Option(min=1, max=64)] = int(
        os.environ.get("COMPTOIR_KAFKA_PARTITIONS", "3")
    ),
    namespace: Annotated[str, typer.Option(help="Prefix for an isolated environment")] = "",
) -> None:
    """Create every topic and its dead-letter twin (existing ones are left as they are)."""
    platform = Platform(kafka_namespace=namespace, partitions=partitions)
    created = infra.ensure_topics(platform.topics(), partitions)
    console.print(f"{len(created)} topic(s) created, {len(platform.topics())} in all")


@topics_app.command("list")
def topics_list() -> None:
    for name in sorted(infra.list_topics()):
        print(name)


@mail_app.command("list")
def mail_list() -> None:
    """Every message the local SMTP server received."""
    table = Table()
    for column in ("id", "date", "to", "subject"):
        table.add_column(column)
    for message in infra.list_messages():
        table.add_row(
            message["id"], str(message["date"]), str(message["to"]), str(message["subject"])
        )
    console.print(table)


@mail_app.command("show")
def mail_show(message_id: str) -> None:
    """Print one captured message (plain-text part)."""
    message = infra.read_message(message_id)
    console.print(
        f"[bold]From:[/bold] {message['From']}\n[bold]To:[/bold] {message['To']}\n"
        f"[bold]Subject:[/bold] {message['Subject']}\n"
    )
    body = message.get_body(preferencelist=("plain", "html"))
    print(body.get_content() if body is not None else message.get_content())


@app.command()
def logs() -> None:
    """Where each process writes its log."""
    for path in sorted((local_dir("log")).glob("*.log")):
        print(f"tail -f {path}")


def main() -> None:
    """Entry point: operator errors are one clear line, not a traceback."""
    try:
        app()
    except (RuntimeError, infra.InfraError, httpx.HTTPError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
