"""``safeguard webhooks``: where match events are sent."""

from __future__ import annotations

import json

import typer

from safeguard.cli.common import DB_OPTION, audit_from_cli, open_store
from safeguard.store.webhooks import WebhookStore

app = typer.Typer(help="Signed webhooks for match events.", no_args_is_help=True)


@app.command("add")
def add_command(url: str = typer.Argument(...), db: str = DB_OPTION) -> None:
    """Send match events to URL; prints the signing secret once."""
    store = open_store(db)
    hook, secret = WebhookStore(store.engine).add(url)
    audit_from_cli(store, "webhook.add", {"id": hook.id, "url": url})
    typer.echo(secret)
    typer.echo(f"safeguard: webhook {hook.id} -> {url}; keep the secret above", err=True)


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
    WebhookStore(store.engine).remove(webhook_id)
    audit_from_cli(store, "webhook.remove", {"id": webhook_id})
    typer.echo(f"removed webhook {webhook_id}")
