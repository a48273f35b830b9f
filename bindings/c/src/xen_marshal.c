/*
 * libxenserver runtime: XML-RPC in xapi's dialect. Requests are written as text (ints as
 * decimal strings, as xapi expects); responses are read with libxml2 into the C values the
 * descriptors describe, tolerantly: unknown struct members are skipped, unknown enum values
 * become XEN_*_UNDEFINED, members a response lacks get empty values, a member sent twice keeps
 * the last value.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "xen_internal.h"

/* -- writing ------------------------------------------------------------------------------- */

void
xen_buf_add_(xen_buf_ *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap)
    {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (data == NULL)
        {
            b->oom = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
xen_buf_str_(xen_buf_ *b, const char *s)
{
    xen_buf_add_(b, s, strlen(s));
}

static void
add_escaped(xen_buf_ *b, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++)
    {
        switch (*p)
        {
        case '&': xen_buf_str_(b, "&amp;"); break;
        case '<': xen_buf_str_(b, "&lt;"); break;
        case '>': xen_buf_str_(b, "&gt;"); break;
        case '\r': xen_buf_str_(b, "&#13;"); break;
        default: xen_buf_add_(b, p, 1);
        }
    }
}

static void
format_datetime(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y%m%dT%H:%M:%SZ", &tm);
}

/* A value's text where XML-RPC wants a string (map keys). */
static void
add_key(xen_buf_ *b, const xen_type_ *t, const void *slot)
{
    char tmp[64];
    switch (t->kind)
    {
    case XEN_K_INT:
        snprintf(tmp, sizeof(tmp), "%" PRId64, *(const int64_t *)slot);
        xen_buf_str_(b, tmp);
        return;
    case XEN_K_ENUM:
        xen_buf_str_(b, xen_enum_to_string_(t, *(const int *)slot));
        return;
    case XEN_K_FLOAT:
        snprintf(tmp, sizeof(tmp), "%.17g", *(const double *)slot);
        xen_buf_str_(b, tmp);
        return;
    default:
        add_escaped(b, *(char *const *)slot);
    }
}

static void
write_value(xen_buf_ *b, const xen_type_ *t, const void *slot)
{
    char tmp[64];
    xen_buf_str_(b, "<value>");
    switch (t->kind)
    {
    case XEN_K_STRING:
    case XEN_K_INT:
    case XEN_K_ENUM:
        xen_buf_str_(b, "<string>");
        add_key(b, t, slot);
        xen_buf_str_(b, "</string>");
        break;
    case XEN_K_SESSION:
    {
        const xen_session *s = *(xen_session *const *)slot;
        xen_buf_str_(b, "<string>");
        add_escaped(b, s != NULL ? s->session_id : "OpaqueRef:NULL");
        xen_buf_str_(b, "</string>");
        break;
    }
    case XEN_K_FLOAT:
        snprintf(tmp, sizeof(tmp), "<double>%.17g</double>", *(const double *)slot);
        xen_buf_str_(b, tmp);
        break;
    case XEN_K_BOOL:
        xen_buf_str_(b, *(const bool *)slot ? "<boolean>1</boolean>" : "<boolean>0</boolean>");
        break;
    case XEN_K_DATETIME:
        format_datetime(*(const time_t *)slot, tmp);
        xen_buf_str_(b, "<dateTime.iso8601>");
        xen_buf_str_(b, tmp);
        xen_buf_str_(b, "</dateTime.iso8601>");
        break;
    case XEN_K_SET:
    {
        const size_t *set = *(size_t *const *)slot;
        xen_buf_str_(b, "<array><data>");
        for (size_t i = 0; set != NULL && i < *set; i++)
            write_value(b, t->elem, (const char *)(set + 1) + i * t->elem->size);
        xen_buf_str_(b, "</data></array>");
        break;
    }
    case XEN_K_MAP:
    {
        const size_t *map = *(size_t *const *)slot;
        xen_buf_str_(b, "<struct>");
        for (size_t i = 0; map != NULL && i < *map; i++)
        {
            const char *entry = (const char *)(map + 1) + i * t->entry_size;
            xen_buf_str_(b, "<member><name>");
            add_key(b, t->elem, entry);
            xen_buf_str_(b, "</name>");
            write_value(b, t->val, entry + t->val_offset);
            xen_buf_str_(b, "</member>");
        }
        xen_buf_str_(b, "</struct>");
        break;
    }
    case XEN_K_STRUCT:
    {
        const char *rec = *(char *const *)slot;
        xen_buf_str_(b, "<struct>");
        for (size_t i = 0; rec != NULL && i < t->nmembers; i++)
        {
            xen_buf_str_(b, "<member><name>");
            xen_buf_str_(b, t->members[i].name);
            xen_buf_str_(b, "</name>");
            write_value(b, t->members[i].type, rec + t->members[i].offset);
            xen_buf_str_(b, "</member>");
        }
        xen_buf_str_(b, "</struct>");
        break;
    }
    case XEN_K_REF_OPT:
    {
        const xen_record_opt_ *opt = *(xen_record_opt_ *const *)slot;
        const char *ref = "OpaqueRef:NULL";
        if (opt != NULL && !opt->is_record && opt->u.handle != NULL)
            ref = opt->u.handle;
        else if (opt != NULL && opt->is_record && opt->u.record != NULL && t->elem != NULL
                 && t->elem->handle_offset >= 0)
        {
            const char *h = *(char *const *)((const char *)opt->u.record
                                             + t->elem->handle_offset);
            if (h != NULL)
                ref = h;
        }
        xen_buf_str_(b, "<string>");
        add_escaped(b, ref);
        xen_buf_str_(b, "</string>");
        break;
    }
    }
    xen_buf_str_(b, "</value>");
}

void
xen_write_request_(xen_buf_ *b, const char *method, const char *session_id,
                   const xen_arg_ *args, size_t nargs)
{
    xen_buf_str_(b, "<?xml version=\"1.0\"?>\n<methodCall><methodName>");
    add_escaped(b, method);
    xen_buf_str_(b, "</methodName><params>");
    if (session_id != NULL)
    {
        xen_buf_str_(b, "<param>");
        write_value(b, &xen_t_string_, &session_id);
        xen_buf_str_(b, "</param>");
    }
    for (size_t i = 0; i < nargs; i++)
    {
        xen_buf_str_(b, "<param>");
        write_value(b, args[i].type, args[i].value);
        xen_buf_str_(b, "</param>");
    }
    xen_buf_str_(b, "</params></methodCall>\n");
}

/* -- reading ------------------------------------------------------------------------------- */

typedef struct
{
    xen_session *s;
    const char *error;          /* the first shape error met, for UNMARSHAL_FAILURE */
} reader;

static bool
is(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The first element child of n (NULL if none); next_element gives the following ones. */
static xmlNode *
next_element(xmlNode *n)
{
    while (n != NULL && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

static xmlNode *
first_element(const xmlNode *n)
{
    return n != NULL ? next_element(n->children) : NULL;
}

static xmlNode *
child(const xmlNode *n, const char *name)
{
    for (xmlNode *c = first_element(n); c != NULL; c = next_element(c->next))
        if (is(c, name))
            return c;
    return NULL;
}

/* A <value>'s typed element, or NULL for a bare string. */
static xmlNode *
value_type(const xmlNode *value)
{
    return first_element(value);
}

/* The text of a <value> (its scalar element's, or its own); to be freed with free(). */
static char *
value_text(const xmlNode *value)
{
    const xmlNode *t = value_type(value);
    xmlChar *c = xmlNodeGetContent(t != NULL ? t : value);
    char *s = xen_strdup_((const char *)c);
    xmlFree(c);
    return s;
}

static time_t
parse_datetime(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int y, mo, d, h, mi, se;
    if (sscanf(s, "%4d%2d%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6
        && sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6)
        return 0;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    return timegm(&tm);
}

/* Fill a slot from text (a scalar value, or a map key). */
static void
scalar_from_text(reader *r, const xen_type_ *t, const char *text, void *slot)
{
    switch (t->kind)
    {
    case XEN_K_STRING:
        *(char **)slot = xen_strdup_(text);
        break;
    case XEN_K_INT:
        *(int64_t *)slot = strtoll(text, NULL, 10);
        break;
    case XEN_K_FLOAT:
        *(double *)slot = strtod(text, NULL);
        break;
    case XEN_K_BOOL:
        *(bool *)slot = strcmp(text, "1") == 0 || strcasecmp(text, "true") == 0;
        break;
    case XEN_K_DATETIME:
        *(time_t *)slot = parse_datetime(text);
        break;
    case XEN_K_ENUM:
        *(int *)slot = xen_enum_from_string_(t, text);
        break;
    case XEN_K_REF_OPT:
    {
        xen_record_opt_ *opt = calloc(1, sizeof(*opt));
        if (opt != NULL)
            opt->u.handle = xen_strdup_(text);
        *(xen_record_opt_ **)slot = opt;
        break;
    }
    case XEN_K_SESSION:
    {
        xen_session *s = calloc(1, sizeof(*s));
        if (s != NULL)
        {
            s->call_func = r->s->call_func;
            s->handle = r->s->handle;
            s->session_id = xen_strdup_(text);
            s->ok = true;
            s->api_version = r->s->api_version;
        }
        *(xen_session **)slot = s;
        break;
    }
    default:
        break;
    }
}

/* The value a slot gets when the response lacks it: empty, never NULL for strings and sets. */
static void
empty_value(reader *r, const xen_type_ *t, void *slot)
{
    switch (t->kind)
    {
    case XEN_K_SET:
    case XEN_K_MAP:
        *(void **)slot = xen_alloc_(t, 0);
        break;
    case XEN_K_STRUCT:
        break;
    case XEN_K_REF_OPT:
        scalar_from_text(r, t, "OpaqueRef:NULL", slot);
        break;
    case XEN_K_SESSION:
        break;
    default:
        scalar_from_text(r, t, "", slot);
    }
}

static void read_value(reader *r, const xen_type_ *t, const xmlNode *value, void *slot);

static void
read_struct(reader *r, const xen_type_ *t, const xmlNode *st, void *slot)
{
    char *rec = xen_alloc_(t, 0);
    *(char **)slot = rec;
    if (rec == NULL)
        return;
    bool *seen = calloc(t->nmembers ? t->nmembers : 1, sizeof(bool));
    for (xmlNode *m = first_element(st); m != NULL; m = next_element(m->next))
    {
        if (!is(m, "member"))
            continue;
        xmlNode *name = child(m, "name"), *value = child(m, "value");
        if (name == NULL || value == NULL)
            continue;
        xmlChar *key = xmlNodeGetContent(name);
        for (size_t i = 0; i < t->nmembers; i++)
        {
            if (strcmp(t->members[i].name, (const char *)key) != 0)
                continue;
            void *mslot = rec + t->members[i].offset;
            if (seen != NULL && seen[i])
                xen_free_(t->members[i].type, mslot);   /* sent twice: the last one wins */
            read_value(r, t->members[i].type, value, mslot);
            if (seen != NULL)
                seen[i] = true;
            break;
        }
        xmlFree(key);           /* an unknown member: skipped */
    }
    for (size_t i = 0; i < t->nmembers; i++)
        if (seen == NULL || !seen[i])
            empty_value(r, t->members[i].type, rec + t->members[i].offset);
    free(seen);
}

static void
read_value(reader *r, const xen_type_ *t, const xmlNode *value, void *slot)
{
    const xmlNode *v = value_type(value);
    const char *want = NULL;
    switch (t->kind)
    {
    case XEN_K_SET:
    {
        const xmlNode *data = is(v, "array") ? child(v, "data") : NULL;
        if (data == NULL)
        {
            want = "array";
            break;
        }
        size_t n = 0;
        for (xmlNode *e = first_element(data); e != NULL; e = next_element(e->next))
            n += is(e, "value");
        size_t *set = xen_alloc_(t, n);
        *(size_t **)slot = set;
        if (set == NULL)
            return;
        size_t i = 0;
        for (xmlNode *e = first_element(data); e != NULL; e = next_element(e->next))
            if (is(e, "value"))
                read_value(r, t->elem, e, (char *)(set + 1) + i++ * t->elem->size);
        return;
    }
    case XEN_K_MAP:
    {
        if (!is(v, "struct"))
        {
            want = "struct";
            break;
        }
        size_t n = 0;
        for (xmlNode *m = first_element(v); m != NULL; m = next_element(m->next))
            n += is(m, "member") && child(m, "name") != NULL && child(m, "value") != NULL;
        size_t *map = xen_alloc_(t, n);
        *(size_t **)slot = map;
        if (map == NULL)
            return;
        size_t i = 0;
        for (xmlNode *m = first_element(v); m != NULL; m = next_element(m->next))
        {
            xmlNode *name = child(m, "name"), *val = child(m, "value");
            if (!is(m, "member") || name == NULL || val == NULL)
                continue;
            char *entry = (char *)(map + 1) + i++ * t->entry_size;
            xmlChar *key = xmlNodeGetContent(name);
            scalar_from_text(r, t->elem, (const char *)key, entry);
            xmlFree(key);
            read_value(r, t->val, val, entry + t->val_offset);
            /* records of get_all_records: their handle is the key */
            if (t->val->kind == XEN_K_STRUCT && t->val->handle_offset >= 0
                && t->elem->kind == XEN_K_STRING)
            {
                char *rec = *(char **)(entry + t->val_offset);
                if (rec != NULL)
                    *(char **)(rec + t->val->handle_offset) = xen_strdup_(*(char **)entry);
            }
        }
        return;
    }
    case XEN_K_STRUCT:
        if (!is(v, "struct"))
        {
            want = "struct";
            break;
        }
        read_struct(r, t, v, slot);
        return;
    default:
        if (v != NULL && (is(v, "array") || is(v, "struct")))
        {
            want = t->name;
            break;
        }
        {
            char *text = value_text(value);
            scalar_from_text(r, t, text, slot);
            free(text);
        }
        return;
    }
    /* a value of another shape: note it, leave an empty value in the slot */
    if (r->error == NULL)
        r->error = want;
    empty_value(r, t, slot);
}

/* ErrorDescription: an array of strings. */
static void
read_failure(xen_session *s, const xmlNode *value)
{
    const xmlNode *v = value_type(value);
    const xmlNode *data = is(v, "array") ? child(v, "data") : NULL;
    int n = 0;
    for (xmlNode *e = first_element(data); e != NULL; e = next_element(e->next))
        n += is(e, "value");
    if (!s->ok)
        return;
    char **desc = calloc(n ? (size_t)n : 1, sizeof(char *));
    if (desc == NULL)
        return;
    int i = 0;
    for (xmlNode *e = first_element(data); e != NULL; e = next_element(e->next))
        if (is(e, "value"))
            desc[i++] = value_text(e);
    s->error_description = desc;
    s->error_description_count = n;
    s->ok = false;
}

void
xen_read_response_(xen_session *s, const char *data, size_t len,
                   const xen_type_ *result_type, void *result)
{
    if (data == NULL || len > (size_t)INT32_MAX)
    {
        xen_session_error_(s, 2, "XMLRPC_UNMARSHAL_FAILURE", "empty response");
        return;
    }
    xmlDoc *doc = xmlReadMemory(data, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR
                                | XML_PARSE_NOWARNING | XML_PARSE_HUGE);
    xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    if (!is(root, "methodResponse"))
    {
        xen_session_error_(s, 2, "XMLRPC_UNMARSHAL_FAILURE", "not an XML-RPC response");
        xmlFreeDoc(doc);
        return;
    }
    xmlNode *fault = child(root, "fault");
    if (fault != NULL)
    {
        char *text = value_text(child(fault, "value"));
        xen_session_error_(s, 2, "XMLRPC_FAULT", text);
        free(text);
        xmlFreeDoc(doc);
        return;
    }
    xmlNode *value = child(child(child(root, "params"), "param"), "value");
    xmlNode *st = value_type(value);
    xmlNode *status = NULL, *payload = NULL, *errors = NULL;
    for (xmlNode *m = is(st, "struct") ? first_element(st) : NULL; m != NULL;
         m = next_element(m->next))
    {
        xmlNode *name = child(m, "name");
        xmlChar *key = name != NULL ? xmlNodeGetContent(name) : NULL;
        if (key != NULL && strcmp((const char *)key, "Status") == 0)
            status = child(m, "value");
        else if (key != NULL && strcmp((const char *)key, "Value") == 0)
            payload = child(m, "value");
        else if (key != NULL && strcmp((const char *)key, "ErrorDescription") == 0)
            errors = child(m, "value");
        xmlFree(key);
    }
    char *st_text = status != NULL ? value_text(status) : NULL;
    if (st_text != NULL && strcmp(st_text, "Success") == 0)
    {
        if (result_type != NULL && result != NULL)
        {
            reader r = { s, NULL };
            if (payload != NULL)
                read_value(&r, result_type, payload, result);
            else
                empty_value(&r, result_type, result);
            if (r.error != NULL)
            {
                xen_free_(result_type, result);
                xen_session_error_(s, 3, "XMLRPC_UNMARSHAL_FAILURE", r.error, result_type->name);
            }
        }
    }
    else if (st_text != NULL && strcmp(st_text, "Failure") == 0 && errors != NULL)
        read_failure(s, errors);
    else
        xen_session_error_(s, 2, "XMLRPC_UNMARSHAL_FAILURE", "no Status in the response");
    free(st_text);
    xmlFreeDoc(doc);
}
