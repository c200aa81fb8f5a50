"""Thin HTTP layers: parse, call a service or the protocol server, render or redirect."""
