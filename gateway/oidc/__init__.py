"""The protocol: Authlib server wiring, grants, endpoints, tokens, keys. No login UI here."""
