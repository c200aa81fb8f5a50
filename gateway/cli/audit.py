"""`flask --app wsgi audit verify`: walk the audit trail's hash chain and name the first break.

Exit status 0 when the chain holds, 1 when it is broken (so a cron job or a monitoring check
can alert on it), 2 for bad input. Run it on a schedule and after any restore of the database.
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from gateway.cli import emit_json
from gateway.services import audit

# What each problem means, for the operator reading the plain output.
PROBLEMS = {
    "gap": "a record is missing before it (deleted)",
    "link": "its link to the record before it does not hold (deleted or reordered)",
    "content": "its content no longer matches its hash (edited)",
}


@click.group("audit", help="The audit trail of staff actions and issuance decisions.")
def group():
    pass


@group.command("verify", help="Walk the whole hash chain in order. Prints the number of "
               "records checked, or the first broken record (its seq) and the problem: gap "
               "(a record deleted), link (deleted or reordered), content (edited). Exit "
               "status 1 when the chain is broken.")
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(1, 100_000),
              help="Records read per query.")
@click.option("--json", "as_json", is_flag=True, help='Print {"checked", "ok", and when '
              'broken "broken_at", "problem"}.')
@with_appcontext
def verify(batch, as_json):
    checked, broken = audit.verify(batch=batch)
    if as_json:
        out = {"checked": checked, "ok": broken is None}
        if broken is not None:
            out.update(broken_at=broken.seq, problem=broken.problem)
        emit_json(out)
    elif broken is None:
        click.echo(f"audit chain intact: {checked} records")
    else:
        click.echo(f"audit chain broken at record {broken.seq}: {broken.problem} "
                   f"({PROBLEMS[broken.problem]}); {checked} records before it hold")
    if broken is not None:
        sys.exit(1)
