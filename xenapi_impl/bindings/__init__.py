"""Client bindings generated from the data model (xenapi_impl.model)."""
