"""The gateway as VNeID's relying party against an OpenID provider we did not write: panva's
certified oidc-provider (tests/interop/op.mjs), configured with the national portal's claim
names. The gateway's default settings — claim mapping, level values — must work as they are."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from gateway.models import Account, Event, LoginSession, VneidLink
from tests.helpers import PASSWORD
from tests.helpers.network import free_port
from tests.helpers.oidc import decode_unverified
from tests.helpers.sms import last_otp
from tests.helpers.vneid import (
    AN,
    BINH,
    DUNG,
    ORGANISATION,
    node_op,
    through_node_op,
    tokens_for,
    vneid_world,
)

pytestmark = pytest.mark.interop

# The portal's claims for four of the sandbox's citizens, served by oidc-provider.
ACCOUNTS = {
    AN: {"TechID": AN, "SoDinhDanh": "001085012345", "HoVaTen": "Nguyễn Văn An",
         "NgayThangNamSinh": "12/04/1985", "GioiTinh": "Nam", "SoDienThoai": "0912345623",
         "LoaiTaiKhoan": "1", "loAs": "LoA2"},
    BINH: {"TechID": BINH, "SoDinhDanh": "079301004567", "HoVaTen": "Trần Thị Bình",
           "NgayThangNamSinh": "30/09/2001", "GioiTinh": "Nữ", "SoDienThoai": "0987654321",
           "LoaiTaiKhoan": "1", "loAs": "LoA2"},
    DUNG: {"TechID": DUNG, "SoDinhDanh": "048195000789", "HoVaTen": "Phạm Thị Dung",
           "NgayThangNamSinh": "28/02/1995", "GioiTinh": "Nữ", "SoDienThoai": "0935123456",
           "LoaiTaiKhoan": "1", "loAs": "LoA2"},
    ORGANISATION: {"TechID": ORGANISATION, "SoDinhDanh": "001079005555",
                   "HoVaTen": "Công ty TNHH Thử Nghiệm Số", "LoaiTaiKhoan": "2",
                   "loAs": "LoA2"},
}


@pytest.fixture
def world_with_op(make_app, tmp_path):
    """A served gateway whose VNeID is oidc-provider (client_secret_basic)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with node_op(base, ACCOUNTS) as issuer:
        with vneid_world(make_app, tmp_path, port=port, VNEID_ISSUER=issuer,
                         VNEID_CLIENT_ID="vssid-gateway",
                         VNEID_CLIENT_SECRET="sandbox-test-secret-0123456789abcdef") as world:
            yield world, issuer


def _sign_in(world, issuer, account):
    person = world.person()
    upstream = person.to_upstream(world.web_id)
    assert upstream.startswith(issuer + "/auth?")
    return person, person.callback(through_node_op(person, upstream, account))


def test_a_verified_citizen_is_linked_through_oidc_provider(world_with_op):
    world, issuer = world_with_op
    person, answer = _sign_in(world, issuer, AN)
    assert answer.status_code == 302, answer.text[:500]
    query = person.follow_to_client(answer)
    tokens = tokens_for(world.base, world.web_id, world.web_secret, query["code"],
                        person.verifier)
    _, claims = decode_unverified(tokens["id_token"])
    assert claims["amr"] == ["vneid"] and claims["acr"].endswith("level2")
    with world.app.app_context():
        link = VneidLink.query.one()
        assert link.subject == AN  # TechID, read from oidc-provider's userinfo
        assert link.account_id == Account.query.filter_by(bhxh="0123456789").one().id


def test_the_proof_and_a_new_account_through_oidc_provider(world_with_op):
    world, issuer = world_with_op
    person, answer = _sign_in(world, issuer, BINH)
    assert answer.status_code == 303 and "/vneid/prove?flow=" in answer.headers["Location"]
    otp_page = person.form(answer.headers["Location"], {"password": PASSWORD}).headers[
        "Location"]
    assert person.form(otp_page, {"otp": last_otp(world.app)}).status_code == 302
    _, created = _sign_in(world, issuer, DUNG)
    assert created.status_code == 302
    _, refused = _sign_in(world, issuer, ORGANISATION)
    assert 'data-code="refuse:not_a_citizen"' in refused.text
    with world.app.app_context():
        assert {link.subject: link.how for link in VneidLink.query} == {
            BINH: "proof", DUNG: "created"}


def test_cancelling_at_oidc_provider_and_a_replayed_callback(world_with_op):
    world, issuer = world_with_op
    person = world.person()
    cancelled = person.callback(through_node_op(person, person.to_upstream(world.web_id), None))
    assert 'data-code="vneid_cancelled"' in cancelled.text
    person = world.person()
    callback = through_node_op(person, person.to_upstream(world.web_id), AN)
    assert person.get(callback).status_code == 302
    assert person.get(callback).status_code == 400  # the flow was taken
    with world.app.app_context():
        assert LoginSession.query.count() == 1
        failed = [e.data for e in Event.query.filter_by(name="vneid.failed")]
    assert [(e["reason"], e["upstream_error"]) for e in failed] == [
        ("upstream_error", "access_denied")]


def test_private_key_jwt_and_es256_id_tokens_with_oidc_provider(make_app, tmp_path):
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    key_file = tmp_path / "gateway-client.pem"
    key_file.write_bytes(key.as_pem(private=True))
    public = {"keys": [key.as_dict(private=False) | {"kid": key.kid, "use": "sig",
                                                      "alg": "ES256"}]}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with node_op(base, ACCOUNTS, client_jwks=public, id_token_alg="ES256") as issuer:
        with vneid_world(make_app, tmp_path, port=port, VNEID_ISSUER=issuer,
                         VNEID_CLIENT_ID="vssid-gateway",
                         VNEID_PRIVATE_KEY_FILE=str(key_file)) as world:
            person, answer = _sign_in(world, issuer, AN)
            assert answer.status_code == 302, answer.text[:500]
            with world.app.app_context():
                assert VneidLink.query.one().subject == AN
