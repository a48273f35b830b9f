/*
 * A libcurl transport for libxenserver: an xen_call_func speaking HTTP, HTTPS or HTTP over a
 * Unix socket.
 *
 *     xen_curl_transport *t = xen_curl_transport_new("https://host/");   // or "http://h:80/",
 *                                                                       // "unix:/path/sock"
 *     xen_session *s = xen_session_login_with_password(xen_curl_call, t, "root", pw,
 *                                                      xen_api_latest_version);
 *     ...
 *     xen_session_logout(s);
 *     xen_curl_transport_free(t);
 */
#ifndef XEN_CURL_TRANSPORT_H
#define XEN_CURL_TRANSPORT_H

#include <xen/api/xen_common.h>

typedef struct xen_curl_transport xen_curl_transport;

/* NULL if out of memory or the URL scheme is none of http:, https:, unix:. */
extern xen_curl_transport *xen_curl_transport_new(const char *url);

/*
 * HTTPS: verify the server's certificate (default: true) against ca_file (NULL: the system's
 * store). With verify false any certificate is accepted.
 */
extern void xen_curl_transport_set_tls(xen_curl_transport *t, bool verify, const char *ca_file);

/* Seconds a whole call may take (0, the default: no limit; event.from blocks). */
extern void xen_curl_transport_set_timeout(xen_curl_transport *t, long seconds);

/* The last transport error (curl's message or the HTTP status), "" if none. */
extern const char *xen_curl_transport_error(const xen_curl_transport *t);

extern void xen_curl_transport_free(xen_curl_transport *t);

/* The xen_call_func: user_handle is the xen_curl_transport. */
extern int xen_curl_call(const void *data, size_t len, void *user_handle, void *result_handle,
                         xen_result_func result_func);

#endif
