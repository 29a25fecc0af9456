"""The FHIR route modules: one per resource family."""
