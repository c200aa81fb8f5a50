"""Cryptographic building blocks with no domain knowledge: password hashing (Argon2id and the
legacy schemes) and random secrets with their at-rest digests and derived keys.

They sit below services, models, methods and the protocol layer, and import nothing of the
gateway, so every layer can use them without an import that runs upward (a model checks a
client secret, a service hashes a new password, a method verifies one).
"""
