/*
 * Private to libxenserver: how the generated code describes XenAPI types to the runtime, and
 * the one call every generated function makes.
 *
 * A value lives in a "slot": a struct member, a set element, a map key or value, or a
 * function's result. Scalars are held inline (char *, int64_t, double, bool, time_t, enum);
 * sets, maps, records and record_opts through a pointer. Each type has one xen_type_
 * descriptor (the generated xen_types.c holds them all); marshalling, parsing and freeing are
 * generic walks over descriptors.
 */
#ifndef XEN_INTERNAL_H
#define XEN_INTERNAL_H

#include <stddef.h>
#include <stdbool.h>
#include <xen/api/xen_common.h>

/* Not exported from libxenserver.so: only the public API is. */
#define XEN_HIDDEN_ __attribute__((visibility("hidden")))

typedef enum
{
    XEN_K_STRING,   /* char * (also every handle: an OpaqueRef string) */
    XEN_K_INT,      /* int64_t; "123" on the wire */
    XEN_K_FLOAT,    /* double */
    XEN_K_BOOL,     /* bool */
    XEN_K_DATETIME, /* time_t, UTC */
    XEN_K_ENUM,     /* an enum (int-sized); unknown values become the UNDEFINED one */
    XEN_K_SET,      /* struct { size_t size; T contents[]; } * */
    XEN_K_MAP,      /* struct { size_t size; struct { K key; V val; } contents[]; } * */
    XEN_K_STRUCT,   /* a record: struct * */
    XEN_K_REF_OPT,  /* struct xen_X_record_opt * (a handle, as records hold references) */
    XEN_K_SESSION   /* xen_session *: a session ref a call returns */
} xen_kind_;

typedef struct xen_type_ xen_type_;

typedef struct
{
    const char *name;        /* the wire name */
    const xen_type_ *type;
    size_t offset;
} xen_member_;

struct xen_type_
{
    xen_kind_ kind;
    const char *name;        /* the XenAPI type, for error messages */
    size_t size;             /* bytes of one slot of this type */
    const char *const *values;  /* ENUM: the wire spellings, in C enum order */
    size_t nvalues;
    const xen_type_ *elem;   /* SET: element; MAP: key; REF_OPT: the record (may be NULL) */
    const xen_type_ *val;    /* MAP: value */
    size_t entry_size;       /* MAP: bytes of one {key, val} entry */
    size_t val_offset;       /* MAP: offset of val in an entry */
    const xen_member_ *members;  /* STRUCT */
    size_t nmembers;
    size_t struct_size;
    ptrdiff_t handle_offset; /* STRUCT: offset of the handle member, or -1 */
};

/* The layout every xen_X_record_opt shares. */
typedef struct
{
    bool is_record;
    union
    {
        void *handle;
        void *record;
    } u;
} xen_record_opt_;

extern XEN_HIDDEN_ const xen_type_ xen_t_string_, xen_t_int_, xen_t_float_, xen_t_bool_,
    xen_t_datetime_, xen_t_session_;

typedef struct
{
    const xen_type_ *type;
    const void *value;       /* points at the slot holding the argument */
} xen_arg_;

/*
 * Call method with args (the session id is prepended unless no_session); on success parse the
 * result into *result (a slot of result_type; NULL for void). Returns session->ok.
 */
extern XEN_HIDDEN_ bool xen_call_(xen_session *s, const char *method, const xen_arg_ *args,
                                  size_t nargs, const xen_type_ *result_type, void *result);
extern XEN_HIDDEN_ bool xen_call_no_session_(xen_session *s, const char *method,
                                             const xen_arg_ *args, size_t nargs,
                                             const xen_type_ *result_type, void *result);

/* A zeroed set or map of n entries, or a zeroed struct / record_opt (n ignored). */
extern XEN_HIDDEN_ void *xen_alloc_(const xen_type_ *t, size_t n);
/* Free everything the slot holds (the slot itself is the caller's). */
extern XEN_HIDDEN_ void xen_free_(const xen_type_ *t, void *slot);

extern XEN_HIDDEN_ const char *xen_enum_to_string_(const xen_type_ *t, int v);
extern XEN_HIDDEN_ int xen_enum_from_string_(const xen_type_ *t, const char *s);

extern XEN_HIDDEN_ char *xen_strdup_(const char *s);

/* Record an error on the session (kept if one is already there). */
extern XEN_HIDDEN_ void xen_session_error_(xen_session *s, int n, ...);

/* xen_marshal.c: XML-RPC over libxml2. */
typedef struct
{
    char *data;
    size_t len, cap;
    bool oom;
} xen_buf_;

extern XEN_HIDDEN_ void xen_buf_add_(xen_buf_ *b, const char *s, size_t n);
extern XEN_HIDDEN_ void xen_buf_str_(xen_buf_ *b, const char *s);
extern XEN_HIDDEN_ void xen_write_request_(xen_buf_ *b, const char *method,
                                           const char *session_id, const xen_arg_ *args,
                                           size_t nargs);
/* Parse a response into *result; on a XenAPI failure or a malformed response, record the
 * error on s. */
extern XEN_HIDDEN_ void xen_read_response_(xen_session *s, const char *data, size_t len,
                                           const xen_type_ *result_type, void *result);

#endif
