"""``safeguard webhooks``: where match events are sent."""

from __future__ import annotations

import json

import typer

from safeguard.cli.common import DB_OPTION, cli_audit, open_store
from safeguard.store.webhook_targets import private_targets_allowed, redacted
from safeguard.store.webhooks import WebhookStore

app = typer.Typer(help="Signed webhooks for match events.", no_args_is_help=True)


@app.command("add")
def add_command(
    url: str = typer.Argument(...),
    allow_private: bool = typer.Option(
        False,
        "--allow-private",
        help="Allow a loopback or private-network receiver "
        "(also $SAFEGUARD_WEBHOOK_ALLOW_PRIVATE=1).",
    ),
    db: str = DB_OPTION,
) -> None:
    """Send match events to URL; prints the signing secret once."""
    store = open_store(db)
    allowed = allow_private or private_targets_allowed()
    hook, secret = WebhookStore(store.engine).add(
        url,
        allow_private=allowed,
        audit=cli_audit("webhook.add", lambda made: {"id": made.id, "url": redacted(url)}),
    )
    typer.echo(secret)
    typer.echo(f"safeguard: webhook {hook.id} -> {redacted(url)}; keep the secret above", err=True)


@app.command("ls")
def ls_command(db: str = DB_OPTION) -> None:
    """Webhooks as JSON lines, with their deliveries by state."""
    hooks = WebhookStore(open_store(db).engine)
    states: dict[int, dict[str, int]] = {}
    for delivery in hooks.deliveries():
        counts = states.setdefault(delivery.webhook_id, {})
        counts[delivery.status] = counts.get(delivery.status, 0) + 1
    for hook in hooks.all():
        typer.echo(json.dumps({**hook.to_json(), "deliveries": states.get(hook.id, {})}))


@app.command("rm")
def rm_command(webhook_id: int = typer.Argument(...), db: str = DB_OPTION) -> None:
    """Stop sending to a webhook (its undelivered events are dropped with it)."""
    store = open_store(db)
    WebhookStore(store.engine).remove(
        webhook_id, audit=cli_audit("webhook.remove", {"id": webhook_id})
    )
    typer.echo(f"removed webhook {webhook_id}")
