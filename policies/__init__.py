"""Pure security decisions (identifiers, redirect URIs) without I/O, so they test exhaustively."""
