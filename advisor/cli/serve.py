"""``advisor serve`` (the team server) and ``advisor server token create|list|revoke``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from advisor.cli._app import cli
from advisor.cli._common import knowledge_store_option

if TYPE_CHECKING:
    from advisor.api.serving import ServerSettings

__all__ = ["serve_command", "server_group"]

# the same words as advisor.api.serving.SCOPES (a test holds them equal); written out so
# that `import advisor.cli` does not load the server's modules
_SCOPES = ("read", "write", "admin")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free."
)
@knowledge_store_option
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes sharing the socket (each stateless).",
)
@click.option(
    "--allow-anonymous-reads",
    is_flag=True,
    help="Answer reads without a token (writes always need one).",
)
@click.option(
    "--max-request-bytes",
    type=click.IntRange(min=1024),
    default=4 * 1024 * 1024,
    show_default=True,
    help="Largest request body accepted.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=0),
    default=1200,
    show_default=True,
    metavar="PER_MINUTE",
    help="Requests per minute per token (per address without one), per worker; 0: none.",
)
@click.option(
    "--index-url",
    "index_urls",
    multiple=True,
    metavar="URL",
    help="Index the advice endpoints resolve from (repeatable: the first is the primary;"
    " default: pip's configuration of the server). Clients cannot choose another.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Advice jobs (lock, advise, check) run at once per worker; more wait, then 429.",
)
@click.option(
    "--job-timeout",
    type=click.FloatRange(min=1.0),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="Longest an advice request may take (then 503).",
)
@click.option(
    "--knowledge-dir",
    "knowledge_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="A curated knowledge folder POST /v1/knowledge/sync loads (repeatable; default:"
    " the curated knowledge shipped with the advisor).",
)
@click.option(
    "--dask-scheduler",
    metavar="ADDRESS",
    help="Dask scheduler POST /v1/sweeps sends sweep jobs to (tcp://HOST:8786; needs the"
    " dask extra). Without it, sweeps answer 503.",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="The URL sweep workers upload their observations to (default: the URL the sweep"
    " was posted to).",
)
@click.option(
    "--sweep-lifetime",
    type=click.FloatRange(min=0, min_open=True),
    default=24 * 3600.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a done sweep is kept on the Dask scheduler after its last news (then"
    " GET /v1/sweeps/ID answers 404).",
)
def serve_command(
    host: str,
    port: int,
    knowledge_url: str | None,
    workers: int,
    allow_anonymous_reads: bool,
    max_request_bytes: int,
    rate_limit: int,
    index_urls: tuple[str, ...],
    jobs: int,
    job_timeout: float,
    knowledge_dirs: tuple[Path, ...],
    dask_scheduler: str | None,
    public_url: str | None,
    sweep_lifetime: float,
) -> None:
    """Serve the knowledge store over HTTP: OSV-compatible advisories and knowledge.

    SQLite (the default store) for one person; PostgreSQL for a team, with as many servers
    as needed behind a load balancer. Stops on Ctrl-C or SIGTERM."""
    from advisor.api.serving import ServeOptions, serve

    def listening(url: str, settings: ServerSettings) -> None:
        reads = "anonymous reads" if allow_anonymous_reads else "every request needs a token"
        plural = "s" if workers != 1 else ""
        where = f"{url} over {settings.shown_url}"
        click.echo(f"advisor serve: {where} ({workers} worker{plural}; {reads})", err=True)

    serve(
        ServeOptions(
            host=host,
            port=port,
            knowledge_url=knowledge_url,
            workers=workers,
            allow_anonymous_reads=allow_anonymous_reads,
            max_request_bytes=max_request_bytes,
            rate_limit=rate_limit,
            index_urls=index_urls,
            jobs=jobs,
            job_timeout=job_timeout,
            knowledge_dirs=knowledge_dirs,
            dask_scheduler=dask_scheduler,
            sweep_lifetime=sweep_lifetime,
            public_url=public_url,
        ),
        on_listening=listening,
    )


@cli.group("server")
def server_group() -> None:
    """Manage the team server (advisor serve)."""


@server_group.group("token")
def token_group() -> None:
    """The server's access tokens, kept hashed in the knowledge store."""


@token_group.command("create")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(_SCOPES),
    default="read",
    show_default=True,
    help="read: advisories and knowledge; write: + upload measurements; admin: + upload "
    "advisories, rules and image recipes.",
)
@knowledge_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def token_create(name: str, scope: str, knowledge_url: str | None, as_json: bool) -> None:
    """Create a token; its secret is printed once, on stdout, and never again."""
    from advisor.api.serving import create_token

    issued = create_token(name, scope, store_url=knowledge_url)
    token = issued.token
    if as_json:
        data = {"name": token.name, "scope": token.scope.value, "created": token.created}
        click.echo(json.dumps({**data, "secret": issued.secret}, indent=2))
        return
    click.echo(issued.secret)
    click.echo(
        f"Created token {token.name!r} (scope {token.scope.value}); its secret, above, is"
        " shown only this once",
        err=True,
    )


@token_group.command("list")
@knowledge_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def token_list(knowledge_url: str | None, as_json: bool) -> None:
    """Every token (never a secret), revoked ones included."""
    from advisor.api.serving import list_tokens

    tokens = list_tokens(store_url=knowledge_url)
    rows = [
        {"name": t.name, "scope": t.scope.value, "created": t.created, "revoked": t.revoked}
        for t in tokens
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No tokens (advisor server token create NAME makes one).", err=True)
        return
    width = max(len("name"), *(len(r["name"] or "") for r in rows))
    click.echo(f"{'name':<{width}}  scope  created               state")
    for row in rows:
        state = f"revoked {row['revoked']}" if row["revoked"] else "active"
        click.echo(f"{row['name']:<{width}}  {row['scope']:<5}  {row['created']:<20}  {state}")


@token_group.command("revoke")
@click.argument("name")
@knowledge_store_option
def token_revoke(name: str, knowledge_url: str | None) -> None:
    """Revoke a token: every server on this store refuses it from its next request."""
    from advisor.api.serving import revoke_token

    token = revoke_token(name, store_url=knowledge_url)
    click.echo(f"Revoked token {token.name!r} (on {token.revoked})", err=True)
