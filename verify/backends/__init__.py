"""Backends behind one interface named after the Trove API's verbs."""
