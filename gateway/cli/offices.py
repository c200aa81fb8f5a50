"""`flask --app wsgi offices load|list`: the BHXH offices applicants choose and staff belong to.

Output is one JSON object, as for every operator command (`--json` is accepted). `load`
replaces the whole list from a CSV (format in gateway/services/offices.py); a refused
file prints one line per error (`error: line N: CODE (detail)`) on stderr, exits with status 2
and writes nothing.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli import emit_json
from gateway.extensions import db
from gateway.services import offices


@click.group("offices", help="The BHXH offices (provincial and district) applicants choose.")
def group():
    pass


@group.command("load", help="Replace the office list with a CSV file (UTF-8, header "
               "code,name,province; province is the 3-digit CCCD province code). Offices "
               "missing from the file become inactive, never deleted. The shipped list is "
               "gateway/data/offices.csv.")
@click.argument("file", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True,
              help="Accepted; the output is always one JSON object of counts.")
@with_appcontext
def load(file, as_json):
    data = file.read(offices.MAX_FILE_BYTES + 1)
    try:
        counts = offices.load_file(data, via="cli")
    except offices.OfficeFileError as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(f"error: line {error.line}: {error.code}"
                       + (f" ({error.detail})" if error.detail else ""), err=True)
        raise SystemExit(2) from None
    emit_json(counts)


@group.command("list", help="List every office, inactive ones included, by code.")
@click.option("--json", "as_json", is_flag=True,
              help='Accepted; the output is always {"offices": [{code, name, province, '
              'active, updated_at}]}.')
@with_appcontext
def list_(as_json):
    emit_json({"offices": [{"code": o.code, "name": o.name, "province": o.province,
                            "active": o.active, "updated_at": o.updated_at.isoformat()}
                           for o in offices.list_offices()]})
