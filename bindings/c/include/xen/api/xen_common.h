/*
 * libxenserver: the XenAPI C binding. Hand-written part of the public API: the session
 * (connection) object, login/logout, error handling and library set-up. Everything per class,
 * enum and map is generated from the server's data model (bindings/c/gen.py).
 *
 * Shapes follow the official C SDK (xapi-project/xen-api, ocaml/sdk-gen/c) so that programs
 * written against it compile unchanged.
 */
#ifndef XEN_COMMON_H
#define XEN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Record members and parameters named like C/C++ keywords. */
#ifndef XEN_CLAZZ
#ifdef __cplusplus
#define XEN_CLAZZ clazz
#else
#define XEN_CLAZZ class
#endif
#endif

#include <xen/api/xen_api_version.h>
#include <xen/api/xen_host_decl.h>
#include <xen/api/xen_string_set.h>
#include <xen/api/xen_task_decl.h>

/* Called by the transport with (part of) the response body; false aborts the transfer. */
typedef bool (*xen_result_func)(const void *data, size_t len, void *result_handle);

/*
 * The transport: send the request (data, len bytes, no terminating NUL) and hand the response
 * body to result_func(..., result_handle). Returns 0 on success. user_handle is the handle
 * given to xen_session_login_with_password. xen_curl_transport.h provides one.
 */
typedef int (*xen_call_func)(const void *data, size_t len, void *user_handle,
                             void *result_handle, xen_result_func result_func);

/*
 * A logged-in session. After a failed call ok is false and error_description holds the
 * server's error (code first, then its parameters) until xen_session_clear_error; calls made
 * meanwhile keep that first error and return false.
 */
typedef struct
{
    xen_call_func call_func;
    void *handle;
    const char *session_id;
    bool ok;
    char **error_description;
    int error_description_count;
    xen_api_version api_version;
} xen_session;

struct xen_session_record;

/* Initialise the library (libxml2, libcurl) before use; xen_fini when done. */
extern void xen_init(void);
extern void xen_fini(void);

/*
 * Log in. Always returns a session (NULL only when out of memory): check session->ok.
 * Falls back to the two-argument form when the server answers
 * MESSAGE_PARAMETER_COUNT_MISMATCH. Free with xen_session_logout even after a failure.
 */
extern xen_session *xen_session_login_with_password(xen_call_func call_func, void *handle,
                                                    const char *uname, const char *pwd,
                                                    xen_api_version version);

extern xen_session *xen_session_slave_local_login_with_password(xen_call_func call_func,
                                                                void *handle,
                                                                const char *uname,
                                                                const char *pwd);

/* Log out at the server (if logged in) and free the session. */
extern void xen_session_logout(xen_session *session);
extern void xen_session_local_logout(xen_session *session);

/* Forget the recorded error: ok becomes true again. */
extern void xen_session_clear_error(xen_session *session);

/* Free a session object without logging out (e.g. one returned by VDI.open_database). */
extern void xen_session_free(xen_session *session);

/* The session class's other messages (xen_session_get_this_host...), as the official
 * xen_common.h declares them. */
#include <xen/api/xen_session.h>

#endif
