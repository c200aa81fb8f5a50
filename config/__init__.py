"""Settings of the gateway: every key with its default lives in :mod:`config.defaults`."""
