"""Sphinx configuration for the release notes (reno)."""

project = "trove-verify Release Notes"
copyright = "trove-verify contributors"
extensions = ["reno.sphinxext"]
master_doc = "index"
html_theme = "alabaster"
