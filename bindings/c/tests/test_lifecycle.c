/*
 * A VM's life through libxenserver, written as a program for the official C SDK would be:
 * install from a template (clone + provision), add a disk and a network interface, start it
 * through Async.VM.start and its task, see the start in event.from, suspend, resume, shut
 * down; the refused call's exact error_description; Async.VM.clone's task result.
 *
 *     test_lifecycle URL PASSWORD
 *
 * Prints one line per step; exits 1 at the first check that fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/api/xen_all.h>

static xen_session *session;

#define CHECK(cond)                                                                      \
    do                                                                                   \
    {                                                                                    \
        if (!(cond))                                                                     \
        {                                                                                \
            fprintf(stderr, "FAILED at line %d: %s\n", __LINE__, #cond);                 \
            print_error();                                                               \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

static void
print_error(void)
{
    for (int i = 0; session != NULL && i < session->error_description_count; i++)
        fprintf(stderr, "  error_description[%d] = %s\n", i, session->error_description[i]);
}

static char *
sdup(const char *s)
{
    return strdup(s);
}

/* Wait for a task to finish; returns its status. */
static enum xen_task_status_type
wait_task(xen_task task)
{
    enum xen_task_status_type status = XEN_TASK_STATUS_TYPE_PENDING;
    for (int i = 0; i < 1200; i++)
    {
        CHECK(xen_task_get_status(session, &status, task));
        if (status != XEN_TASK_STATUS_TYPE_PENDING)
            break;
        usleep(50000);
    }
    return status;
}

static enum xen_vm_power_state
power_state(xen_vm vm)
{
    enum xen_vm_power_state state;
    CHECK(xen_vm_get_power_state(session, &state, vm));
    return state;
}

int
main(int argc, char **argv)
{
    CHECK(argc == 3);
    xen_init();
    xen_curl_transport *transport = xen_curl_transport_new(argv[1]);
    CHECK(transport != NULL);
    session = xen_session_login_with_password(xen_curl_call, transport, "root", argv[2],
                                              xen_api_latest_version);
    CHECK(session->ok);
    printf("login api_version=%s\n", xen_api_version_to_string(session->api_version));

    /* install: clone a template, provision its disks, make it a VM */
    struct xen_vm_set *templates = NULL;
    CHECK(xen_vm_get_by_name_label(session, &templates, "Debian Bookworm 12"));
    if (templates->size == 0)
    {
        xen_vm_set_free(templates);
        CHECK(xen_vm_get_by_name_label(session, &templates, "Generic Linux PV"));
    }
    CHECK(templates->size >= 1);
    xen_vm vm = NULL;
    CHECK(xen_vm_clone(session, &vm, templates->contents[0], "c-binding-vm"));
    xen_vm_set_free(templates);
    CHECK(xen_vm_provision(session, vm));
    CHECK(xen_vm_set_is_a_template(session, vm, false));
    xen_vm_record *vm_record = NULL;
    CHECK(xen_vm_get_record(session, &vm_record, vm));
    CHECK(strcmp(vm_record->handle, vm) == 0);
    CHECK(strcmp(vm_record->name_label, "c-binding-vm") == 0 && !vm_record->is_a_template);
    CHECK(vm_record->power_state == XEN_VM_POWER_STATE_HALTED);
    size_t provisioned_vbds = vm_record->vbds->size;
    printf("installed vm uuid=%s vbds=%zu memory_static_max=%lld\n", vm_record->uuid,
           provisioned_vbds, (long long)vm_record->memory_static_max);
    xen_vm_record_free(vm_record);

    /* a data disk on the pool's default SR */
    struct xen_pool_set *pools = NULL;
    xen_sr sr = NULL;
    CHECK(xen_pool_get_all(session, &pools) && pools->size == 1);
    CHECK(xen_pool_get_default_sr(session, &sr, pools->contents[0]));
    xen_pool_set_free(pools);

    xen_vdi_record *vdi_record = xen_vdi_record_alloc();
    vdi_record->name_label = sdup("c-binding-data");
    vdi_record->name_description = sdup("made by test_lifecycle.c");
    vdi_record->sr = xen_sr_record_opt_alloc();
    vdi_record->sr->u.handle = sdup(sr);
    vdi_record->virtual_size = 64 << 20;
    vdi_record->type = XEN_VDI_TYPE_USER;
    vdi_record->other_config = xen_string_string_map_alloc(1);
    vdi_record->other_config->contents[0].key = sdup("made-by");
    vdi_record->other_config->contents[0].val = sdup("libxenserver");
    xen_vdi vdi = NULL;
    CHECK(xen_vdi_create(session, &vdi, vdi_record));
    xen_vdi_record_free(vdi_record);
    int64_t size = 0;
    CHECK(xen_vdi_get_virtual_size(session, &size, vdi) && size == 64 << 20);
    xen_string_string_map *other_config = NULL;
    CHECK(xen_vdi_get_other_config(session, &other_config, vdi));
    CHECK(other_config->size == 1 && strcmp(other_config->contents[0].val, "libxenserver") == 0);
    xen_string_string_map_free(other_config);

    xen_vbd_record *vbd_record = xen_vbd_record_alloc();
    vbd_record->vm = xen_vm_record_opt_alloc();
    vbd_record->vm->u.handle = sdup(vm);
    vbd_record->vdi = xen_vdi_record_opt_alloc();
    vbd_record->vdi->u.handle = sdup(vdi);
    vbd_record->userdevice = sdup("1");
    vbd_record->bootable = false;
    vbd_record->mode = XEN_VBD_MODE_RW;
    vbd_record->type = XEN_VBD_TYPE_DISK;
    vbd_record->empty = false;
    vbd_record->other_config = xen_string_string_map_alloc(0);
    vbd_record->qos_algorithm_type = sdup("");
    vbd_record->qos_algorithm_params = xen_string_string_map_alloc(0);
    xen_vbd vbd = NULL;
    CHECK(xen_vbd_create(session, &vbd, vbd_record));
    xen_vbd_record_free(vbd_record);

    struct xen_network_set *networks = NULL;
    CHECK(xen_network_get_all(session, &networks) && networks->size >= 1);
    xen_vif_record *vif_record = xen_vif_record_alloc();
    vif_record->device = sdup("0");
    vif_record->network = xen_network_record_opt_alloc();
    vif_record->network->u.handle = sdup((char *)networks->contents[0]);
    vif_record->vm = xen_vm_record_opt_alloc();
    vif_record->vm->u.handle = sdup(vm);
    vif_record->mac = sdup("");
    vif_record->mtu = 1500;
    vif_record->other_config = xen_string_string_map_alloc(0);
    vif_record->qos_algorithm_type = sdup("");
    vif_record->qos_algorithm_params = xen_string_string_map_alloc(0);
    xen_network_set_free(networks);
    xen_vif vif = NULL;
    CHECK(xen_vif_create(session, &vif, vif_record));
    xen_vif_record_free(vif_record);
    xen_vif_record *vif_now = NULL;
    CHECK(xen_vif_get_record(session, &vif_now, vif));
    CHECK(!vif_now->vm->is_record && strcmp(vif_now->vm->u.handle, vm) == 0);
    CHECK(strlen(vif_now->mac) == 17);     /* the server generated one */
    printf("created vdi vbd vif mac=%s\n", vif_now->mac);
    xen_vif_record_free(vif_now);

    /* event.from: a token now, the start's events after it */
    char vm_class[] = "vm";
    struct xen_string_set *classes = xen_string_set_alloc(1);
    classes->contents[0] = vm_class;
    struct xen_event_batch *batch = NULL;
    CHECK(xen_event_from(session, &batch, classes, "", 0.0));
    char *token = strdup(batch->token);
    xen_event_batch_free(batch);

    /* Async.VM.start and its task */
    xen_task task = NULL;
    CHECK(xen_vm_start_async(session, &task, vm, false, false));
    CHECK(strncmp(task, "OpaqueRef:", 10) == 0);
    CHECK(wait_task(task) == XEN_TASK_STATUS_TYPE_SUCCESS);
    double progress = 0;
    CHECK(xen_task_get_progress(session, &progress, task) && progress == 1.0);
    CHECK(xen_task_destroy(session, task));
    xen_task_free(task);
    CHECK(power_state(vm) == XEN_VM_POWER_STATE_RUNNING);
    printf("async start: task success, vm running\n");

    bool seen_running = false;
    for (int round = 0; round < 20 && !seen_running; round++)
    {
        CHECK(xen_event_from(session, &batch, classes, token, 5.0));
        free(token);
        token = strdup(batch->token);
        for (size_t i = 0; i < batch->events->size; i++)
        {
            xen_event_record *ev = batch->events->contents[i];
            if (strcmp(ev->XEN_CLAZZ, "vm") == 0 && strcmp(ev->ref, vm) == 0
                && ev->operation == XEN_EVENT_OPERATION_MOD && ev->id != 0)
                seen_running = seen_running || power_state(vm) == XEN_VM_POWER_STATE_RUNNING;
        }
        CHECK(batch->valid_ref_counts != NULL);
        xen_event_batch_free(batch);
    }
    CHECK(seen_running);
    classes->contents[0] = NULL;           /* the caller's string, not the set's */
    xen_string_set_free(classes);
    free(token);
    printf("event.from: mod event for the vm\n");

    /* a refused call: the exact error, kept until cleared */
    CHECK(!xen_vm_start(session, vm, false, false));
    CHECK(!session->ok && session->error_description_count == 4);
    CHECK(xen_api_failure_from_string(session->error_description[0])
          == XEN_API_FAILURE_VM_BAD_POWER_STATE);
    printf("refused start: [%s, %s, %s, %s]\n", session->error_description[0],
           strcmp(session->error_description[1], vm) == 0 ? "<vm ref>" : "<other>",
           session->error_description[2], session->error_description[3]);
    /* a second refused call (resume wants "suspended") keeps the first error */
    CHECK(!xen_vm_resume(session, vm, false, false));
    CHECK(session->error_description_count == 4
          && strcmp(session->error_description[2], "halted") == 0);
    xen_session_clear_error(session);
    CHECK(session->ok && session->error_description_count == 0);

    /* suspend, resume, shut down */
    CHECK(xen_vm_suspend(session, vm));
    CHECK(power_state(vm) == XEN_VM_POWER_STATE_SUSPENDED);
    xen_vdi suspend_vdi = NULL;
    CHECK(xen_vm_get_suspend_vdi(session, &suspend_vdi, vm));
    CHECK(strcmp(suspend_vdi, "OpaqueRef:NULL") != 0);
    xen_vdi_free(suspend_vdi);
    CHECK(xen_vm_resume(session, vm, false, false));
    CHECK(power_state(vm) == XEN_VM_POWER_STATE_RUNNING);
    CHECK(xen_vm_clean_shutdown(session, vm));
    CHECK(power_state(vm) == XEN_VM_POWER_STATE_HALTED);
    CHECK(xen_vm_get_record(session, &vm_record, vm));
    CHECK(!vm_record->resident_on->is_record
          && strcmp(vm_record->resident_on->u.handle, "OpaqueRef:NULL") == 0);
    CHECK(vm_record->vbds->size == provisioned_vbds + 1 && vm_record->vifs->size == 1);
    xen_vm_record_free(vm_record);
    printf("suspend resume shutdown: halted\n");

    /* Async.VM.clone: the task's result holds the new VM's reference */
    CHECK(xen_vm_clone_async(session, &task, vm, "c-binding-clone"));
    CHECK(wait_task(task) == XEN_TASK_STATUS_TYPE_SUCCESS);
    char *result = NULL;
    CHECK(xen_task_get_result(session, &result, task));
    CHECK(strncmp(result, "<value>OpaqueRef:", 17) == 0);
    xen_vm clone = strndup(result + 7, strlen(result) - 7 - strlen("</value>"));
    char *clone_name = NULL;
    CHECK(xen_vm_get_name_label(session, &clone_name, clone));
    CHECK(strcmp(clone_name, "c-binding-clone") == 0);
    printf("async clone: task result names %s\n", clone_name);
    free(clone_name);
    free(result);
    CHECK(xen_task_destroy(session, task));
    xen_task_free(task);

    CHECK(xen_vm_destroy(session, clone));
    xen_vm_free(clone);
    CHECK(xen_vm_destroy(session, vm));
    CHECK(!xen_vm_get_uuid(session, &result, vm));
    CHECK(strcmp(session->error_description[0], "HANDLE_INVALID") == 0);
    xen_session_clear_error(session);
    CHECK(xen_vdi_destroy(session, vdi));
    xen_vm_free(vm);
    xen_vdi_free(vdi);
    xen_vbd_free(vbd);
    xen_vif_free(vif);
    xen_sr_free(sr);

    xen_session_logout(session);
    xen_curl_transport_free(transport);
    xen_fini();
    printf("done\n");
    return 0;
}
