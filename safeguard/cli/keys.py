"""``safeguard keys``: API keys for the match service."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli.common import DB_OPTION, cli_audit, cli_event, open_store
from safeguard.store.keys import MATCH_FIELDS, KeyStore, Scope

app = typer.Typer(help="API keys for `safeguard serve`.", no_args_is_help=True)


@app.command("create")
def create_command(
    name: str = typer.Option(..., "--name", help="Who the key is for."),
    scopes: list[Scope] = typer.Option(..., "--scope", help="Repeatable."),
    fields: str = typer.Option(
        ",".join(MATCH_FIELDS),
        "--fields",
        help="Match fields the key is shown, comma-separated; empty: the action only.",
    ),
    rate_limit: float = typer.Option(
        None, "--rate-limit", help="Requests per second for this key \\[default: unlimited]."
    ),
    db: str = DB_OPTION,
) -> None:
    """Create a key and print it once: only a salted hash of it is kept."""
    chosen = [field.strip() for field in fields.split(",") if field.strip()]
    store = open_store(db)
    key, token = KeyStore(store.engine).create(
        name,
        scopes,
        fields=chosen,
        rate_limit=rate_limit,
        audit=cli_audit("key.create", lambda created: created.to_json()),
    )
    typer.echo(token)
    typer.echo(
        f"safeguard: key {key.key_id} for {name!r} ({' '.join(sorted(key.scopes))}); "
        "store it now, it is not shown again",
        err=True,
    )


@app.command("ls")
def ls_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per key."),
    db: str = DB_OPTION,
) -> None:
    """Keys with their scopes, fields and state (never the secrets)."""
    keys = KeyStore(open_store(db).engine).all()
    if as_json:
        for key in keys:
            typer.echo(json.dumps(key.to_json()))
        return
    table = Table()
    for column in ("key id", "name", "scopes", "fields", "rate", "created", "revoked"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            key.key_id,
            key.name,
            " ".join(sorted(key.scopes)),
            ",".join(key.fields) or "(action only)",
            f"{key.rate_limit:g}/s" if key.rate_limit else "-",
            key.created_at.isoformat()[:19],
            key.revoked_at.isoformat()[:19] if key.revoked_at else "-",
        )
    Console().print(table)


@app.command("revoke")
def revoke_command(
    key: str = typer.Argument(..., help="A key id, or a name (revokes all its live keys)."),
    db: str = DB_OPTION,
) -> None:
    """Revoke a key: refused everywhere within a second."""
    store = open_store(db)
    revoked = KeyStore(store.engine).revoke(
        key,
        audit=lambda keys: [
            cli_event("key.revoke", {"key_id": gone.key_id, "name": gone.name}) for gone in keys
        ],
    )
    for gone in revoked:
        typer.echo(f"revoked key {gone.key_id} ({gone.name})")


signing = typer.Typer(
    help="Ed25519 keys that sign list exports and feed pages.", no_args_is_help=True
)
app.add_typer(signing, name="signing")


@signing.command("create")
def signing_create_command(
    name: str = typer.Option(..., "--name", help="What to call the key."), db: str = DB_OPTION
) -> None:
    """A new signing key; prints its public key for partners (the newest key signs)."""
    from safeguard.store.signing import Signer

    store = open_store(db)
    public = Signer(store.engine).create(name, audit=cli_audit("signing_key.create", lambda d: d))
    typer.echo(public)
    typer.echo("give this public key to partners: they verify with --verify", err=True)


@signing.command("ls")
def signing_ls_command(db: str = DB_OPTION) -> None:
    """Signing keys, oldest first (the last one signs)."""
    from safeguard.store.signing import Signer

    for name, public, created in Signer(open_store(db).engine).listed():
        typer.echo(f"{name}\t{public}\t{created.isoformat(timespec='seconds')}")
