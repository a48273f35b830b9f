/*
 * Compile-time check (with -Werror: an incompatible pointer is an error) that functions have
 * the official C SDK's signatures, as programs written against it call them.
 */
#include <xen/api/xen_all.h>

bool (*const get_record)(xen_session *, xen_vm_record **, xen_vm) = xen_vm_get_record;
bool (*const get_all)(xen_session *, struct xen_vm_set **) = xen_vm_get_all;
bool (*const get_all_records)(xen_session *, xen_vm_xen_vm_record_map **) =
    xen_vm_get_all_records;
bool (*const start)(xen_session *, xen_vm, bool, bool) = xen_vm_start;
bool (*const start_async)(xen_session *, xen_task *, xen_vm, bool, bool) = xen_vm_start_async;
bool (*const clone)(xen_session *, xen_vm *, xen_vm, char *) = xen_vm_clone;
bool (*const get_name)(xen_session *, char **, xen_vm) = xen_vm_get_name_label;
bool (*const set_name)(xen_session *, xen_vm, char *) = xen_vm_set_name_label;
bool (*const get_power)(xen_session *, enum xen_vm_power_state *, xen_vm) =
    xen_vm_get_power_state;
bool (*const get_memory)(xen_session *, int64_t *, xen_vm) = xen_vm_get_memory_static_max;
bool (*const get_other_config)(xen_session *, xen_string_string_map **, xen_vm) =
    xen_vm_get_other_config;
bool (*const get_vbds)(xen_session *, struct xen_vbd_set **, xen_vm) = xen_vm_get_vbds;
bool (*const vdi_create)(xen_session *, xen_vdi *, xen_vdi_record *) = xen_vdi_create;
bool (*const vdi_create_async)(xen_session *, xen_task *, xen_vdi_record *) =
    xen_vdi_create_async;
bool (*const task_progress)(xen_session *, double *, xen_task) = xen_task_get_progress;
bool (*const task_created)(xen_session *, time_t *, xen_task) = xen_task_get_created;
bool (*const event_from)(xen_session *, struct xen_event_batch **, struct xen_string_set *,
                         char *, double) = xen_event_from;
bool (*const this_host)(xen_session *, xen_host *, xen_session *) = xen_session_get_this_host;
xen_session *(*const login)(xen_call_func, void *, const char *, const char *,
                            xen_api_version) = xen_session_login_with_password;
void (*const logout)(xen_session *) = xen_session_logout;
void (*const clear_error)(xen_session *) = xen_session_clear_error;
void (*const init)(void) = xen_init;
void (*const fini)(void) = xen_fini;
const char *(*const to_string)(enum xen_vm_power_state) = xen_vm_power_state_to_string;
enum xen_vm_power_state (*const from_string)(xen_session *, const char *) =
    xen_vm_power_state_from_string;
void (*const free_record)(xen_vm_record *) = xen_vm_record_free;
void (*const free_opt)(xen_vm_record_opt *) = xen_vm_record_opt_free;
void (*const free_set)(xen_vm_set *) = xen_vm_set_free;
void (*const free_opt_set)(xen_vm_record_opt_set *) = xen_vm_record_opt_set_free;
void (*const free_handle)(xen_vm) = xen_vm_free;
void (*const free_map)(xen_string_string_map *) = xen_string_string_map_free;
void (*const free_batch)(xen_event_batch *) = xen_event_batch_free;
xen_string_set *(*const alloc_strings)(size_t) = xen_string_set_alloc;
xen_vm_record *(*const alloc_record)(void) = xen_vm_record_alloc;
const xen_call_func transport = xen_curl_call;
const char *(*const failure_to_string)(enum xen_api_failure) = xen_api_failure_to_string;
enum xen_api_failure (*const failure_from_string)(const char *) = xen_api_failure_from_string;

int
main(void)
{
    /* record members as the official SDK spells them */
    xen_vm_record r = { 0 };
    xen_event_record e = { 0 };
    xen_session s = { 0 };
    (void)r.handle, (void)r.name_label, (void)r.power_state, (void)r.vcpus_max;
    (void)r.resident_on, (void)r.vbds, (void)r.other_config, (void)r.is_a_template;
    (void)e.XEN_CLAZZ, (void)e.operation, (void)e.ref, (void)e.obj_uuid, (void)e.id;
    (void)s.ok, (void)s.error_description, (void)s.error_description_count;
    (void)s.session_id, (void)s.api_version, (void)s.call_func, (void)s.handle;
    return xen_api_failure_from_string("VM_BAD_POWER_STATE") == XEN_API_FAILURE_VM_BAD_POWER_STATE
        && xen_api_failure_from_string("A_FUTURE_ERROR") == XEN_API_FAILURE_UNDEFINED
        && xen_vm_power_state_from_string(NULL, "Running") == XEN_VM_POWER_STATE_RUNNING ? 0 : 1;
}
