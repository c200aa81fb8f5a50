"""What `make run` shows a newcomer: after `flask demo seed`, each citizen of the offline
VNeID sandbox meets the rule its note on the sandbox's page promises."""

from __future__ import annotations

import json

from gateway.models import Account, LinkReview, VneidLink
from providers.vneid_sandbox import load_citizens
from tests.helpers.network import free_port, serve
from tests.helpers.vneid import AN, BINH, CUONG, DUNG, EM, ORGANISATION, Person

EXPECTED = {AN: (302, None), BINH: (303, None), CUONG: (200, "review:birthdate_mismatch"),
            DUNG: (302, None), EM: (200, "declare:not_in_register"),
            ORGANISATION: (200, "refuse:not_a_citizen")}


def test_each_sandbox_citizen_meets_its_rule_on_a_seeded_demo(make_app, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(ISSUER=base, DEMO_ENABLED=True, SMS_OUTBOX=str(tmp_path / "sms.jsonl"),
                   DEMO_CLIENT_FILE=str(tmp_path / "demo-client.json"))
    app.instance_path = str(tmp_path)
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "Đăng nhập bằng VNeID" in result.output
    portal = json.loads((tmp_path / "demo-client.json").read_text())
    assert {c.tech_id for c in load_citizens()} == set(EXPECTED)
    with serve(app, port):
        for tech_id, (status, page) in EXPECTED.items():
            person = Person(base)
            answer = person.sign_in(portal["client_id"], tech_id,
                                    redirect_uri=f"{base}/demo/callback")
            assert answer.status_code == status, (tech_id, answer.text[:500])
            if page:
                assert f'data-code="{page}"' in answer.text, tech_id
            if status == 303:
                assert "/vneid/prove?flow=" in answer.headers["Location"]
    with app.app_context():
        linked = {link.subject: link.how for link in VneidLink.query}
        assert linked == {AN: "auto", DUNG: "created"}
        assert Account.query.filter_by(bhxh="4812345670").one().full_name == "Phạm Thị Dung"
        assert [case.reason for case in LinkReview.query] == ["birthdate_mismatch"]
