"""Throughput benchmark of the gateway: `python -m bench` (see bench/README.md).

Measures, in one run, the Argon2id floor (password verifications per second on one core) and
what the gateway does over real HTTP with the server pinned to one core and the load
generator pinned to another: browser logins with code exchange, refresh_token grants and
client_credentials grants, on the production backend (PostgreSQL + Redis) and the embedded
one (SQLite + the SQL store). It prints figures and ratios; nothing here is asserted.
"""
