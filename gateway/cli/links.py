"""`flask --app wsgi links list|show|resolve|unlink`: the VNeID links and their review queue.

For operators and staff without the console: every command prints one JSON object (`--json`
is accepted), personal numbers masked; refusals print one line (`error: FIELD: CODE`) on
stderr and exit with status 2, changing nothing. Every change is audited with the actor
``cli:links`` and the reason given (gateway/services/links.py).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli import account_or_fail, emit_json, fail
from gateway.errors import GatewayError
from gateway.services import audit, link_reviews, links
from policies.identifiers import mask_bhxh

ACTOR = audit.Actor("cli:links")
JSON_HELP = "Accepted; the output is always one JSON object."


@click.group("links", help="VNeID links: the review queue of cases the linking rules would "
             "not decide alone (resolve: link to an account or reject, with a reason), and "
             "unlinking.")
def group():
    pass


@group.command("list", help="List review cases oldest first, each with both sides (VNeID "
               'claims and candidate accounts, numbers masked): {"cases": [...]}.')
@click.option("--status", type=click.Choice(["open", "resolved"]), default=None,
              help="Only open or only resolved cases (default: all).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@with_appcontext
def list_(status, as_json):
    emit_json({"cases": [link_reviews.describe(case)
                         for case in link_reviews.list_cases(status)]})


@group.command("show", help="One review case: the VNeID side, each candidate account and "
               "whether its CCCD, name and birth date agree, and the resolution if any.")
@click.argument("case", type=int)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@with_appcontext
def show(case, as_json):
    try:
        emit_json(link_reviews.describe(link_reviews.get_case(case)))
    except GatewayError as exc:
        fail(exc)


@group.command("resolve", help="Resolve an open case: --account BHXH links its VNeID identity "
               "to that account (the account's phone gets an SMS), or --reject links nothing. "
               "--reason is required and kept in the audit trail. A case resolved already, or "
               "an account linked to another VNeID identity, is refused.")
@click.argument("case", type=int)
@click.option("--account", "bhxh", default=None, help="Social-insurance number (10 digits) "
              "of the account to link.")
@click.option("--reject", is_flag=True, help="Link nothing: the identity stays unlinked.")
@click.option("--reason", required=True, help="Why (kept as given, in the audit trail).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@with_appcontext
def resolve(case, bhxh, reject, reason, as_json):
    try:
        resolved = links.resolve_case(case, actor=ACTOR, reason=reason, bhxh=bhxh,
                                      reject=reject)
    except GatewayError as exc:
        fail(exc)
    emit_json(link_reviews.describe(resolved))


@group.command("unlink", help="Remove the VNeID link of the account BHXH: the level the link "
               "added is given back, an SMS tells the account's phone, and every session and "
               "device of the account is signed out. --reason is required (audited). The "
               "linking rules decide afresh at the identity's next VNeID sign-in.")
@click.argument("bhxh")
@click.option("--reason", required=True, help="Why (kept as given, in the audit trail).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@with_appcontext
def unlink(bhxh, reason, as_json):
    account = account_or_fail(bhxh)
    try:
        done = links.unlink(account, actor=ACTOR, reason=reason)
    except GatewayError as exc:
        fail(exc)
    emit_json({**done, "bhxh": mask_bhxh(account.bhxh)})
