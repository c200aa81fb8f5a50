"""`flask --app wsgi offices load|list`, and the demo seed's offices."""

import json

from gateway.extensions import db
from gateway.models import Office
from gateway.services import offices


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_load_then_list_as_json(app, tmp_path):
    path = tmp_path / "offices.csv"
    path.write_bytes("\ufeffcode,name,province\r\nBHXH-079-Q1,Bảo hiểm xã hội Quận 1,079\r\n"
                     .encode("utf-8"))
    result = run(app, "offices", "load", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"added": 1, "updated": 0, "unchanged": 0,
                                         "deactivated": 0, "active": 1}
    listed = json.loads(run(app, "offices", "list", "--json").output)["offices"]
    assert [(o["code"], o["name"], o["province"], o["active"]) for o in listed] == [
        ("BHXH-079-Q1", "Bảo hiểm xã hội Quận 1", "079", True)]
    assert json.loads(run(app, "offices", "list").output)["offices"] == listed


def test_the_shipped_file_loads_from_the_cli(app):
    from importlib.resources import as_file, files

    with as_file(files("gateway").joinpath("data/offices.csv")) as path:
        result = run(app, "offices", "load", str(path))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deactivated"] == 0
    assert Office.query.filter(Office.active.is_(True)).count() >= 63


def test_a_bad_file_prints_each_error_exits_2_and_writes_nothing(app, tmp_path):
    offices.load_file(b"code,name,province\nBHXH-001,Ha Noi,001\n", via="test")
    path = tmp_path / "bad.csv"
    path.write_text("code,name,province\nBHXH-002,Hà Giang,002\nBHXH-002,Hà Giang,002\n"
                    "BHXH-003,Không có,003\n", encoding="utf-8")
    result = run(app, "offices", "load", str(path), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: line 3: duplicate_code (BHXH-002 also on line 2)",
        "error: line 4: invalid_province (province)"]
    db.session.expire_all()
    assert [(o.code, o.active) for o in Office.query.all()] == [("BHXH-001", True)]


def test_help_texts(app):
    assert "CSV" in run(app, "offices", "load", "--help").output
    assert "inactive" in run(app, "offices", "list", "--help").output
    assert "offices" in run(app, "--help").output


def test_demo_seed_loads_the_shipped_offices_once_and_the_demo_office(make_app, tmp_path):
    from gateway.cli.demo import DEMO_OFFICE

    app = make_app(DEMO_ENABLED=True, DEMO_CLIENT_FILE=str(tmp_path / "demo-client.json"))
    app.instance_path = str(tmp_path)
    with app.app_context():
        result = run(app, "demo", "seed")
        assert result.exit_code == 0, result.output
        assert db.session.get(Office, "BHXH-001").active
        demo = db.session.get(Office, DEMO_OFFICE["code"])
        assert demo.active and demo.province == "001"
        shipped = len(offices.parse_file(offices.shipped_file()))
        assert Office.query.count() == shipped + 1
        # An operator's list is not overwritten by seeding again; the demo office is back.
        offices.load_file(b"code,name,province\nBHXH-001,Ha Noi,001\n", via="test")
        assert run(app, "demo", "seed").exit_code == 0
        db.session.expire_all()
        assert [o.code for o in Office.query.filter(Office.active.is_(True)).order_by(
            Office.code)] == ["BHXH-001", DEMO_OFFICE["code"]]
        db.session.remove()
