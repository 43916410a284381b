"""Sphinx configuration: the documentation is the README, rendered."""

project = "trove-verify"
copyright = "trove-verify contributors"
extensions = ["myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
master_doc = "index"
exclude_patterns = []
html_theme = "alabaster"
# the README links to files in the repository, which are not documents here
suppress_warnings = ["myst.xref_missing", "myst.header"]
