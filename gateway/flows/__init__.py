"""Interactive flows: stored records moved by explicit transitions."""
