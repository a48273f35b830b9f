package com.xensource.xenapi;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JSON mapping of the wire: tolerant of what a newer server may send (unknown fields are
 * skipped, unknown enum values read as UNRECOGNIZED, Infinity and NaN accepted as doubles);
 * datetimes as the server writes them ({@code 20240101T12:00:00Z}, also with dashes, fractions
 * or an offset; a number is seconds since the epoch). Sets and maps keep the wire order (a
 * task's error_info is a "string set" whose order matters).
 */
public final class Marshalling {
    private Marshalling() {
    }

    private static final Pattern DATE = Pattern.compile(
            "(\\d{4})-?(\\d{2})-?(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})(\\.\\d+)?(Z|[+-]\\d{2}:?\\d{2})?");
    private static final DateTimeFormatter WIRE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    /** A wire datetime, or null if {@code s} is none. */
    public static Date parseDate(String s) {
        Matcher m = DATE.matcher(s.trim());
        if (!m.matches()) {
            return null;
        }
        String zone = m.group(8) == null ? "Z" : m.group(8);
        if (zone.length() == 5) {
            zone = zone.substring(0, 3) + ":" + zone.substring(3);
        }
        String iso = m.group(1) + "-" + m.group(2) + "-" + m.group(3) + "T" + m.group(4) + ":"
                + m.group(5) + ":" + m.group(6) + (m.group(7) == null ? "" : m.group(7)) + zone;
        return Date.from(OffsetDateTime.parse(iso).toInstant());
    }

    /** The wire spelling of a datetime (UTC). */
    public static String formatDate(Date d) {
        return WIRE.format(d.toInstant());
    }

    static final class DateDeserializer extends StdDeserializer<Date> {
        DateDeserializer() {
            super(Date.class);
        }

        @Override
        public Date deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            JsonToken t = p.currentToken();
            if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
                return new Date((long) (p.getDoubleValue() * 1000));
            }
            String s = p.getValueAsString();
            Date d = s == null ? null : parseDate(s);
            if (d == null) {
                return (Date) ctxt.handleWeirdStringValue(Date.class, s, "not a XenAPI datetime");
            }
            return d;
        }
    }

    static final class DateSerializer extends StdSerializer<Date> {
        DateSerializer() {
            super(Date.class);
        }

        @Override
        public void serialize(Date d, JsonGenerator g, SerializerProvider p) throws IOException {
            g.writeString(formatDate(d));
        }
    }

    /** The mapper every call uses. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.READ_UNKNOWN_ENUM_VALUES_USING_DEFAULT_VALUE)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .addModule(new SimpleModule("xenapi")
                    .addAbstractTypeMapping(Set.class, LinkedHashSet.class)
                    .addAbstractTypeMapping(Map.class, LinkedHashMap.class)
                    .addDeserializer(Date.class, new DateDeserializer())
                    .addSerializer(Date.class, new DateSerializer()))
            .build();
}
