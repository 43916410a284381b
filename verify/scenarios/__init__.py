"""Capability scenarios: one module per capability, one scenario per
datastore x version (x strategy), each independent of the others."""
