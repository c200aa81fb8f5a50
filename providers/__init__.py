"""The outside world behind small interfaces, one module per kind of counterpart.

Each module defines a narrow protocol the gateway calls, the error it may raise, and at least
one implementation that runs offline (development and tests), so that nothing in the gateway
needs a network service it does not own to be exercised end to end:

* ``providers.sms`` — text messages to a phone: ``SmsProvider.send(phone, text)``, raising
  ``DeliveryError``; ``OutboxFileProvider`` appends each message to a JSON-lines file.

Providers never import ``gateway``: they receive plain values (settings, text) and return or
raise, which keeps them replaceable by an operator's own adapter.
"""
