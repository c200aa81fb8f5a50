"""outbox: the recipient sealed like the payload; only a masked hint stays in clear

Rows kept the full phone number after their payload was erased. The number is now sealed
(AES-GCM under the outbox key, bound to the row's message_key and channel) and erased with the
payload; `recipient_hint` keeps "+84 9** *** *23" for SMS (a back-channel logout URL, which is
a client's public configuration, as it is).

The sealing is written out here rather than imported, so this migration keeps working however
gateway/services/outbox.py changes later. It needs the app's configuration (SECRET_KEY or
KEY_ENCRYPTION_KEY), as `flask db upgrade` provides.

Revision ID: 0005
Revises: 0004
"""
import os

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_NONCE = 12
# "+84912345623" -> "+84 9** *** *23" (every SMS recipient is a 12-character E.164 number).
_SMS_HINT = ("'+84 ' || substr(recipient, 4, 1) || '** *** *' || "
             "substr(recipient, length(recipient) - 1, 2)")


def _aead() -> AESGCM:
    cfg = current_app.config
    secret = cfg["KEY_ENCRYPTION_KEY"] or cfg["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"vssid-gateway outbox v1").derive(secret.encode())
    return AESGCM(key)


def _recipient_aad(message_key: bytes, channel: str) -> bytes:
    return message_key + b"to:" + channel.encode()


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient_hint", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("recipient_sealed", sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    bind.execute(
        sa.text("UPDATE outbox_messages SET recipient_sealed = :empty, recipient_hint = "  # noqa: S608
                f"CASE WHEN channel = 'sms' THEN {_SMS_HINT} "
                "WHEN channel = 'backchannel_logout' THEN recipient ELSE '' END"),
        {"empty": b""},
    )
    # Messages still to be sent (payload not erased) need their recipient: seal it.
    pending = bind.execute(sa.text(
        "SELECT id, message_key, channel, recipient FROM outbox_messages "
        "WHERE length(payload_encrypted) > 0")).all()
    aead = _aead() if pending else None
    for row_id, message_key, channel, recipient in pending:
        nonce = os.urandom(_NONCE)
        sealed = nonce + aead.encrypt(nonce, recipient.encode(),
                                      _recipient_aad(bytes(message_key), channel))
        bind.execute(sa.text("UPDATE outbox_messages SET recipient_sealed = :s WHERE id = :i"),
                     {"s": sealed, "i": row_id})
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("recipient_hint", existing_type=sa.String(length=2000),
                              nullable=False)
        batch_op.alter_column("recipient_sealed", existing_type=sa.LargeBinary(),
                              nullable=False)
        batch_op.drop_column("recipient")


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(length=2000), nullable=True))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE outbox_messages SET recipient = recipient_hint"))
    sealed = bind.execute(sa.text(
        "SELECT id, message_key, channel, recipient_sealed FROM outbox_messages "
        "WHERE length(recipient_sealed) > 0")).all()
    aead = _aead() if sealed else None
    for row_id, message_key, channel, blob in sealed:
        blob = bytes(blob)
        recipient = aead.decrypt(blob[:_NONCE], blob[_NONCE:],
                                 _recipient_aad(bytes(message_key), channel)).decode()
        bind.execute(sa.text("UPDATE outbox_messages SET recipient = :r WHERE id = :i"),
                     {"r": recipient, "i": row_id})
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("recipient", existing_type=sa.String(length=2000), nullable=False)
        batch_op.drop_column("recipient_sealed")
        batch_op.drop_column("recipient_hint")
