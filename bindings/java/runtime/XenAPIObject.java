package com.xensource.xenapi;

import com.fasterxml.jackson.annotation.JsonValue;

/** An API object: its reference (OpaqueRef:...) is all a client holds. */
public abstract class XenAPIObject {
    /** The XenAPI reference of this object. */
    protected final String ref;

    protected XenAPIObject(String ref) {
        this.ref = ref;
    }

    /** The reference as sent on the wire. */
    @JsonValue
    public String toWireString() {
        return ref;
    }

    /** True for the null reference (a field that points to nothing). */
    public boolean isNull() {
        return ref == null || ref.equals("OpaqueRef:NULL");
    }

    @Override
    public boolean equals(Object other) {
        return other != null && other.getClass() == getClass()
                && java.util.Objects.equals(((XenAPIObject) other).ref, ref);
    }

    @Override
    public int hashCode() {
        return ref == null ? 0 : ref.hashCode();
    }

    @Override
    public String toString() {
        return ref;
    }
}
