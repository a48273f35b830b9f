package com.xensource.xenapi;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.xensource.xenapi.Types.BadServerResponse;
import com.xensource.xenapi.Types.XenAPIException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;

/**
 * A connection to a XenAPI server: JSON-RPC 2.0 over HTTP(S) ({@code java.net.http}), to
 * {@code /jsonrpc} when the URL has no path. It holds the session: the login messages of the
 * session class set it, logout clears it, every other call sends it.
 */
public class Connection {
    private final URI endpoint;
    private volatile String sessionReference;
    private volatile Duration requestTimeout;
    private volatile Duration connectTimeout = Duration.ofSeconds(30);
    private volatile String userAgent = "xen-api-java (xenapi_impl)";
    private volatile HttpClient http;
    private volatile APIVersion apiVersion;
    private SSLContext sslContext;
    private final AtomicLong ids = new AtomicLong();

    /** A connection to the server at {@code url} (e.g. {@code http://host}), not logged in. */
    public Connection(URL url) {
        this(url, (String) null);
    }

    /** A connection that uses an existing session. */
    public Connection(URL url, String sessionReference) {
        this.endpoint = endpoint(url);
        this.sessionReference = sessionReference;
    }

    /**
     * A connection over HTTPS that trusts what {@code sslContext} trusts (e.g. a host's
     * self-signed certificate); the default trusts the JDK's certificate authorities.
     */
    public Connection(URL url, SSLContext sslContext) {
        this(url, (String) null);
        this.sslContext = sslContext;
    }

    /** A connection with a reply timeout and a connection timeout, in seconds. */
    public Connection(URL url, int replyTimeout, int connTimeout) {
        this(url, (String) null);
        setRequestTimeout(replyTimeout);
        setConnectionTimeout(connTimeout);
    }

    private static URI endpoint(URL url) {
        try {
            URI uri = url.toURI();
            String path = uri.getRawPath();
            if (path == null || path.isEmpty() || path.equals("/")) {
                uri = uri.resolve("/jsonrpc");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a valid URL: " + url, e);
        }
    }

    /** How long a call may take, in seconds (0: no limit; event.from blocks by design). */
    public void setRequestTimeout(int seconds) {
        requestTimeout = seconds > 0 ? Duration.ofSeconds(seconds) : null;
    }

    /** How long connecting may take, in seconds. */
    public void setConnectionTimeout(int seconds) {
        connectTimeout = Duration.ofSeconds(seconds);
        http = null;
    }

    public void setUserAgent(String userAgent) {
        this.userAgent = userAgent;
    }

    /** The session this connection calls with (null before login and after logout). */
    public String getSessionReference() {
        return sessionReference;
    }

    /**
     * The API version of the pool's master (asked once per session; UNKNOWN before login or
     * if the server does not say).
     */
    public APIVersion getAPIVersion() {
        APIVersion v = apiVersion;
        if (v == null && sessionReference != null) {
            try {
                Host master = Pool.getAll(this).iterator().next().getMaster(this);
                v = APIVersion.fromMajorMinor(master.getAPIVersionMajor(this),
                        master.getAPIVersionMinor(this));
            } catch (IOException | RuntimeException e) {
                v = APIVersion.UNKNOWN;
            }
            apiVersion = v;
        }
        return v == null ? APIVersion.UNKNOWN : v;
    }

    /** The URL calls are posted to. */
    public URI getEndpoint() {
        return endpoint;
    }

    /** Calls {@code method} and reads its result as {@code type}. */
    public <T> T dispatch(String method, Object[] params, TypeReference<T> type)
            throws XenAPIException, IOException {
        JsonNode result = call(method, params);
        T value = Marshalling.MAPPER.readerFor(type).readValue(result);
        track(method, value);
        return value;
    }

    /** Calls a method that returns nothing. */
    public void dispatch(String method, Object[] params) throws XenAPIException, IOException {
        call(method, params);
        track(method, null);
    }

    private void track(String method, Object value) {
        if (!method.startsWith("session.")) {
            return;
        }
        if (value instanceof Session && method.contains("login")) {
            sessionReference = ((Session) value).toWireString();
            apiVersion = null;
        } else if (method.endsWith("logout")) {
            sessionReference = null;
            apiVersion = null;
        }
    }

    private HttpClient client() {
        HttpClient h = http;
        if (h == null) {
            HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(connectTimeout);
            if (sslContext != null) {
                b.sslContext(sslContext);
            }
            h = b.build();
            http = h;
        }
        return h;
    }

    private JsonNode call(String method, Object[] params) throws IOException {
        ObjectNode request = Marshalling.MAPPER.createObjectNode();
        request.put("jsonrpc", "2.0");
        request.put("method", method);
        request.set("params", Marshalling.MAPPER.valueToTree(params));
        request.put("id", ids.incrementAndGet());
        HttpRequest.Builder b = HttpRequest.newBuilder(endpoint)
                .header("Content-Type", "application/json")
                .header("User-Agent", userAgent)
                .POST(HttpRequest.BodyPublishers.ofByteArray(
                        Marshalling.MAPPER.writeValueAsBytes(request)));
        if (requestTimeout != null) {
            b.timeout(requestTimeout);
        }
        HttpResponse<byte[]> response;
        try {
            response = client().send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(method + " interrupted");
        }
        if (response.statusCode() / 100 != 2) {
            throw new BadServerResponse(method + ": HTTP " + response.statusCode() + " "
                    + new String(response.body(), StandardCharsets.UTF_8));
        }
        JsonNode reply;
        try {
            reply = Marshalling.MAPPER.readTree(response.body());
        } catch (JsonProcessingException e) {
            throw new BadServerResponse(method + ": reply is not JSON: " + e.getOriginalMessage());
        }
        if (reply == null || !reply.isObject()) {
            throw new BadServerResponse(method + ": reply is not a JSON-RPC object");
        }
        JsonNode error = reply.get("error");
        if (error != null && !error.isNull()) {
            Types.checkError(description(error));
        }
        if (!reply.has("result")) {
            throw new BadServerResponse(method + ": reply has neither result nor error");
        }
        return reply.get("result");
    }

    /** [CODE, params...] from a JSON-RPC 2.0 error object or a 1.0 error array. */
    private static String[] description(JsonNode error) {
        List<String> d = new ArrayList<>();
        if (error.isObject()) {
            d.add(text(error.get("message")));
            JsonNode data = error.get("data");
            if (data != null && data.isArray()) {
                data.forEach(p -> d.add(text(p)));
            } else if (data != null && !data.isNull()) {
                d.add(text(data));
            }
        } else if (error.isArray()) {
            error.forEach(p -> d.add(text(p)));
        } else {
            d.add(text(error));
        }
        return d.toArray(new String[0]);
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? "" : n.isValueNode() ? n.asText() : n.toString();
    }
}
