"""``safeguard self-report``: the self-report page as files, for hosting elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    help="The self-report page (also served by `safeguard serve` at /report).", no_args_is_help=True
)


@app.command("build")
def build_command(
    output: Path = typer.Option(..., "-o", "--output", help="The folder to write the page into."),
    api: str = typer.Option(
        ..., "--api", help="The Safeguard service the page sends to (https://...)."
    ),
    help_file: Path = typer.Option(
        None, "--help-file", help="JSON with the help lines and countries to offer."
    ),
) -> None:
    """Write the page as static files pointed at API; its host must allow that origin."""
    from safeguard.service.self_reports import PAGE_FILES, page_config, page_file

    output.mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        (output / name).write_bytes(page_file(name))
    config = page_config(api, str(help_file) if help_file else None)
    (output / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    typer.echo(
        f"wrote the self-report page to {output} (API {config['api']}); the service must "
        f"allow this page's origin: serve --self-report-origin https://where-it-is-hosted"
    )
