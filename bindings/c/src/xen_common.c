/*
 * libxenserver runtime: the session (login, errors, logout), the call every generated function
 * makes, and the generic allocation and freeing of values described by xen_type_ descriptors.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "xen_internal.h"
#include "xen_types.h"
#include <xen/api/xen_all.h>

/* Slots that hold no value of their own. */
const xen_type_ xen_t_string_ = { .kind = XEN_K_STRING, .name = "string", .size = sizeof(char *) };
const xen_type_ xen_t_int_ = { .kind = XEN_K_INT, .name = "int", .size = sizeof(int64_t) };
const xen_type_ xen_t_float_ = { .kind = XEN_K_FLOAT, .name = "float", .size = sizeof(double) };
const xen_type_ xen_t_bool_ = { .kind = XEN_K_BOOL, .name = "bool", .size = sizeof(bool) };
const xen_type_ xen_t_datetime_ = { .kind = XEN_K_DATETIME, .name = "datetime",
                                    .size = sizeof(time_t) };
const xen_type_ xen_t_session_ = { .kind = XEN_K_SESSION, .name = "session ref",
                                   .size = sizeof(xen_session *) };

void
xen_init(void)
{
    xmlInitParser();
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
xen_fini(void)
{
    curl_global_cleanup();
}

char *
xen_strdup_(const char *s)
{
    return strdup(s != NULL ? s : "");
}

/* -- values -------------------------------------------------------------------------------- */

void *
xen_alloc_(const xen_type_ *t, size_t n)
{
    switch (t->kind)
    {
    case XEN_K_SET:
    {
        size_t *set = calloc(1, sizeof(size_t) + n * t->elem->size);
        if (set != NULL)
            *set = n;
        return set;
    }
    case XEN_K_MAP:
    {
        size_t *map = calloc(1, sizeof(size_t) + n * t->entry_size);
        if (map != NULL)
            *map = n;
        return map;
    }
    case XEN_K_STRUCT:
        return calloc(1, t->struct_size);
    case XEN_K_REF_OPT:
        return calloc(1, sizeof(xen_record_opt_));
    default:
        return NULL;
    }
}

static void
free_session(xen_session *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->error_description_count; i++)
        free(s->error_description[i]);
    free(s->error_description);
    free((char *)s->session_id);
    free(s);
}

void
xen_session_free(xen_session *session)
{
    free_session(session);
}

void
xen_free_(const xen_type_ *t, void *slot)
{
    switch (t->kind)
    {
    case XEN_K_STRING:
        free(*(char **)slot);
        *(char **)slot = NULL;
        return;
    case XEN_K_SESSION:
        free_session(*(xen_session **)slot);
        *(xen_session **)slot = NULL;
        return;
    case XEN_K_SET:
    {
        size_t *set = *(size_t **)slot;
        if (set == NULL)
            return;
        char *contents = (char *)(set + 1);
        for (size_t i = 0; i < *set; i++)
            xen_free_(t->elem, contents + i * t->elem->size);
        free(set);
        *(void **)slot = NULL;
        return;
    }
    case XEN_K_MAP:
    {
        size_t *map = *(size_t **)slot;
        if (map == NULL)
            return;
        char *contents = (char *)(map + 1);
        for (size_t i = 0; i < *map; i++)
        {
            xen_free_(t->elem, contents + i * t->entry_size);
            xen_free_(t->val, contents + i * t->entry_size + t->val_offset);
        }
        free(map);
        *(void **)slot = NULL;
        return;
    }
    case XEN_K_STRUCT:
    {
        char *rec = *(char **)slot;
        if (rec == NULL)
            return;
        if (t->handle_offset >= 0)
            free(*(char **)(rec + t->handle_offset));
        for (size_t i = 0; i < t->nmembers; i++)
            xen_free_(t->members[i].type, rec + t->members[i].offset);
        free(rec);
        *(void **)slot = NULL;
        return;
    }
    case XEN_K_REF_OPT:
    {
        xen_record_opt_ *opt = *(xen_record_opt_ **)slot;
        if (opt == NULL)
            return;
        if (opt->is_record && t->elem != NULL)
            xen_free_(t->elem, &opt->u.record);
        else if (!opt->is_record)
            free(opt->u.handle);
        free(opt);
        *(void **)slot = NULL;
        return;
    }
    default:
        return;                 /* scalars */
    }
}

const char *
xen_enum_to_string_(const xen_type_ *t, int v)
{
    if (v < 0 || (size_t)v >= t->nvalues)
        return "undefined";
    return t->values[v];
}

int
xen_enum_from_string_(const xen_type_ *t, const char *s)
{
    if (s != NULL)
        for (size_t i = 0; i < t->nvalues; i++)
            if (strcasecmp(t->values[i], s) == 0)
                return (int)i;
    return (int)t->nvalues;     /* XEN_*_UNDEFINED */
}

/* -- errors -------------------------------------------------------------------------------- */

void
xen_session_error_(xen_session *s, int n, ...)
{
    if (!s->ok)
        return;                 /* keep the first error until xen_session_clear_error */
    va_list ap;
    va_start(ap, n);
    s->error_description = calloc((size_t)n, sizeof(char *));
    s->error_description_count = s->error_description != NULL ? n : 0;
    for (int i = 0; i < s->error_description_count; i++)
        s->error_description[i] = xen_strdup_(va_arg(ap, const char *));
    va_end(ap);
    s->ok = false;
}

void
xen_session_clear_error(xen_session *session)
{
    for (int i = 0; i < session->error_description_count; i++)
        free(session->error_description[i]);
    free(session->error_description);
    session->error_description = NULL;
    session->error_description_count = 0;
    session->ok = true;
}

/* -- calls --------------------------------------------------------------------------------- */

static bool
collect(const void *data, size_t len, void *handle)
{
    xen_buf_ *b = handle;
    xen_buf_add_(b, data, len);
    return !b->oom;
}

static bool
call(xen_session *s, const char *method, bool with_session, const xen_arg_ *args,
     size_t nargs, const xen_type_ *result_type, void *result)
{
    xen_buf_ req = { 0 }, resp = { 0 };
    if (result_type != NULL && result != NULL && result_type->size == sizeof(void *)
        && result_type->kind != XEN_K_INT && result_type->kind != XEN_K_FLOAT
        && result_type->kind != XEN_K_DATETIME)
        *(void **)result = NULL;    /* pointer results are NULL unless the call succeeds */
    xen_write_request_(&req, method, with_session ? (s->session_id ? s->session_id : "") : NULL,
                       args, nargs);
    if (req.oom)
    {
        xen_session_error_(s, 2, "INTERNAL_ERROR", "client: out of memory");
        free(req.data);
        return false;
    }
    int rc = s->call_func(req.data, req.len, s->handle, &resp, collect);
    free(req.data);
    if (rc != 0 || resp.oom)
        xen_session_error_(s, 2, "TRANSPORT_FAULT",
                           resp.oom ? "client: out of memory" : "the transport failed");
    else
        xen_read_response_(s, resp.data, resp.len, result_type, result);
    free(resp.data);
    return s->ok;
}

bool
xen_call_(xen_session *s, const char *method, const xen_arg_ *args, size_t nargs,
          const xen_type_ *result_type, void *result)
{
    return call(s, method, true, args, nargs, result_type, result);
}

bool
xen_call_no_session_(xen_session *s, const char *method, const xen_arg_ *args, size_t nargs,
                     const xen_type_ *result_type, void *result)
{
    return call(s, method, false, args, nargs, result_type, result);
}

/* -- the session --------------------------------------------------------------------------- */

static xen_session *
new_session(xen_call_func call_func, void *handle)
{
    xen_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->call_func = call_func;
    s->handle = handle;
    s->ok = true;
    s->api_version = xen_api_unknown_version;
    return s;
}

/* The session's API version: that of the host it is logged in to. */
static void
find_api_version(xen_session *s)
{
    xen_host host = NULL;
    int64_t major = 0, minor = 0;
    if (xen_session_get_this_host(s, &host, s) && xen_host_get_api_version_major(s, &major, host)
        && xen_host_get_api_version_minor(s, &minor, host))
        s->api_version = xen_api_version_from_int(major, minor);
    else
        xen_session_clear_error(s);     /* an older server: the version stays unknown */
    xen_host_free(host);
}

static xen_session *
login(const char *method, xen_call_func call_func, void *handle, const char *uname,
      const char *pwd, const char *version)
{
    xen_session *s = new_session(call_func, handle);
    if (s == NULL)
        return NULL;
    char *id = NULL;
    const xen_arg_ args[] = {
        { &xen_t_string_, &uname }, { &xen_t_string_, &pwd }, { &xen_t_string_, &version },
    };
    size_t nargs = version != NULL ? 3 : 2;
    call(s, method, false, args, nargs, &xen_t_string_, &id);
    if (!s->ok && version != NULL && s->error_description_count > 0
        && strcmp(s->error_description[0], "MESSAGE_PARAMETER_COUNT_MISMATCH") == 0)
    {
        /* an older server: the two-argument form */
        xen_session_clear_error(s);
        call(s, method, false, args, 2, &xen_t_string_, &id);
    }
    if (s->ok)
    {
        s->session_id = id;
        find_api_version(s);
    }
    else
        free(id);
    return s;
}

xen_session *
xen_session_login_with_password(xen_call_func call_func, void *handle, const char *uname,
                                const char *pwd, xen_api_version version)
{
    return login("session.login_with_password", call_func, handle, uname, pwd,
                 xen_api_version_to_string(version));
}

xen_session *
xen_session_slave_local_login_with_password(xen_call_func call_func, void *handle,
                                            const char *uname, const char *pwd)
{
    return login("session.slave_local_login_with_password", call_func, handle, uname, pwd,
                 NULL);
}

static void
logout(xen_session *session, const char *method)
{
    if (session == NULL)
        return;
    if (session->session_id != NULL)
    {
        xen_session_clear_error(session);
        xen_call_(session, method, NULL, 0, NULL, NULL);
    }
    free_session(session);
}

void
xen_session_logout(xen_session *session)
{
    logout(session, "session.logout");
}

void
xen_session_local_logout(xen_session *session)
{
    logout(session, "session.local_logout");
}
