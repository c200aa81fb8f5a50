"""A real SMTP server on loopback for the e-mail tests (aiosmtpd), and a self-signed
certificate for its TLS.

``smtp_server(...)`` starts aiosmtpd's Controller on a free loopback port in a thread; what
it accepted is parsed into ``server.received`` (email.message.EmailMessage objects with
their envelope). Recipients whose local part starts with "refused" get "550 5.1.1";
"busy" ones get "451 4.3.0".
"""

from __future__ import annotations

import socket
import ssl
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from ipaddress import IPv4Address
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: object  # email.message.EmailMessage
    authenticated: bool


@dataclass
class Server:
    port: int
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


class _Handler:
    def __init__(self, server: Server) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("refused"):
            return "550 5.1.1 No such user"
        if address.startswith("busy"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.server.received.append(Received(
            envelope.mail_from, list(envelope.rcpt_tos),
            message_from_bytes(envelope.original_content, policy=default_policy),
            bool(session.authenticated)))
        return "250 Message accepted"


@contextmanager
def smtp_server(*, tls: tuple[Path, Path] | None = None, implicit_tls: bool = False,
                credentials: tuple[str, str] | None = None):
    """A running server: STARTTLS offered (and required) when ``tls`` is given, or implicit
    TLS with ``implicit_tls``; AUTH required with ``credentials``."""
    port = free_port()
    server = Server(port)
    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)

    def authenticator(_server, _session, _envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        pair = (auth_data.login.decode(), auth_data.password.decode())
        server.logins.append(pair)
        return AuthResult(success=pair == credentials, handled=False)

    kwargs = {}
    if implicit_tls:
        kwargs["ssl_context"] = context
    elif context is not None:
        kwargs.update(tls_context=context, require_starttls=True)
    if credentials:
        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=context is not None)
    controller = Controller(_Handler(server), hostname="127.0.0.1", port=port,
                            server_hostname="localhost", **kwargs)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
