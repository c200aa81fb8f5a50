"""The app's store, fetched from the app so tests and processes each get their own."""

from flask import current_app

from gateway.store import Store


def store() -> Store:
    return current_app.extensions["gateway.store"]
