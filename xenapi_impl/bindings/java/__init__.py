"""The Java binding (package com.xensource.xenapi), generated from the model.

``python -m xenapi_impl.bindings.java OUTDIR`` writes the sources (``make bindings-java`` then
compiles them into build/bindings/java/xen-api.jar). See generate.py.
"""
