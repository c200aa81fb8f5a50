"""Example clients for developers integrating with the gateway."""
