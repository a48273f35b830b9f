package com.xensource.xenapi;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;
import java.util.Set;

/** What event.from returns: the events since the token, the live object counts, a new token. */
public class EventBatch {
    /** The events; each snapshot is the Record of its class (VM.Record...), a Map if unknown. */
    public Set<Event.Record> events;

    /** Class name -> number of live objects. */
    @JsonProperty("valid_ref_counts")
    public Map<String, Long> validRefCounts;

    /** The token to give the next event.from. */
    @JsonProperty("token")
    public String token;

    @JsonProperty("events")
    void setEvents(Set<Event.Record> events) {
        for (Event.Record e : events) {
            Class<? extends Types.Record> type = Types.recordClass(e.clazz);
            if (type != null && e.snapshot instanceof Map) {
                e.snapshot = Marshalling.MAPPER.convertValue(e.snapshot, type);
            }
        }
        this.events = events;
    }
}
