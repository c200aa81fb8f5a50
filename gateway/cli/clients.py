"""`flask --app wsgi clients create ...`"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli import emit_json, fail
from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.services.clients import create_client, set_client_resources

RESOURCE_HELP = ("service only: a resource (RFC 8707 URI, an access token's `aud`) this service "
                 "is the resource server for; it may introspect access tokens issued for it. "
                 "Today's tokens name the issuer unless GATEWAY_DEFAULT_RESOURCE is set. "
                 "Repeatable.")


@click.group("clients", help="Register OAuth clients (portals, the app, relying services).")
def group():
    pass


@group.command("create", help="Register a client and print its id (and secret, shown once).")
@click.option("--name", required=True, help="Display name.")
@click.option("--type", "type_", required=True, type=click.Choice(["app", "web", "service"]),
              help="app: public first-party app; web: confidential portal; service: relying "
                   "service using client_credentials.")
@click.option("--redirect-uri", multiple=True, help="Exact redirect URI (https, or http on "
              "loopback). Repeatable.")
@click.option("--post-logout-redirect-uri", multiple=True, help="Repeatable.")
@click.option("--backchannel-logout-uri", default=None, help="OIDC Back-Channel Logout URI.")
@click.option("--scope", multiple=True, help="Allowed scope. Repeatable. Default by type.")
@click.option("--token-endpoint-auth-method", default=None,
              type=click.Choice(["client_secret_basic", "client_secret_post", "private_key_jwt"]))
@click.option("--jwks-uri", default=None, help="For private_key_jwt: where the keys are.")
@click.option("--jwks-file", default=None, type=click.Path(dir_okay=False),
              help="For private_key_jwt: a JWKS (public keys) file.")
@click.option("--client-id", default=None, help="Choose the id (default: random).")
@click.option("--resource", multiple=True, help=RESOURCE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
@with_appcontext
def create(name, type_, redirect_uri, post_logout_redirect_uri, backchannel_logout_uri, scope,
           token_endpoint_auth_method, jwks_uri, jwks_file, client_id, resource, as_json):
    try:
        client, secret = create_client(
            name=name, type=type_, redirect_uris=redirect_uri,
            post_logout_redirect_uris=post_logout_redirect_uri,
            backchannel_logout_uri=backchannel_logout_uri, scopes=scope,
            token_endpoint_auth_method=token_endpoint_auth_method, jwks_uri=jwks_uri,
            jwks_file=jwks_file, client_id=client_id, resources=resource,
        )
        db.session.commit()
    except GatewayError as exc:
        fail(exc)
    out = {"client_id": client.client_id}
    if secret:
        out["client_secret"] = secret
    if client.resources:
        out["resources"] = list(client.resources)
    emit_json(out)


@group.command("set-resources", help="Replace the resources a service client is the resource "
                                     "server for (none given: none).")
@click.option("--client-id", required=True, help="The service client.")
@click.option("--resource", multiple=True, help=RESOURCE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
@with_appcontext
def set_resources(client_id, resource, as_json):
    try:
        client = set_client_resources(client_id, resource)
        db.session.commit()
    except GatewayError as exc:
        fail(exc)
    emit_json({"client_id": client.client_id, "resources": list(client.resources)})
