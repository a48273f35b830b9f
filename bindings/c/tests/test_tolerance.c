/*
 * libxenserver against a fake server (an xen_call_func answering canned XML-RPC): what a
 * newer or older server may send.
 *   - login falls back to two arguments on MESSAGE_PARAMETER_COUNT_MISMATCH;
 *   - unknown struct members are skipped, unknown enum values become XEN_*_UNDEFINED,
 *     a member sent twice keeps its last value, missing members read as empty values;
 *   - <i4>/<int>/<string> ints, dateTime.iso8601 both spellings, bare strings;
 *   - the first error stays on the session until xen_session_clear_error;
 *   - a transport failure and a malformed response are errors, not crashes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/api/xen_all.h>

#define CHECK(cond)                                                                      \
    do                                                                                   \
    {                                                                                    \
        if (!(cond))                                                                     \
        {                                                                                \
            fprintf(stderr, "FAILED at line %d: %s\n", __LINE__, #cond);                 \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

static int logins_with_3_args, logins_with_2_args;
static char last_request[65536];

static const char *
success(const char *value)
{
    static char buf[16384];
    snprintf(buf, sizeof(buf),
             "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
             "<member><name>Status</name><value>Success</value></member>"
             "<member><name>Value</name>%s</member></struct></value></param></params>"
             "</methodResponse>", value);
    return buf;
}

static const char *
failure(const char *values)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
             "<member><name>Status</name><value>Failure</value></member>"
             "<member><name>ErrorDescription</name><value><array><data>%s</data></array>"
             "</value></member></struct></value></param></params></methodResponse>", values);
    return buf;
}

static const char VM_RECORD[] =
    "<value><struct>"
    "<member><name>uuid</name><value>1234</value></member>"
    "<member><name>name_label</name><value><string>first</string></value></member>"
    "<member><name>a_member_from_the_future</name><value><struct><member><name>x</name>"
    "<value><array><data><value>1</value></data></array></value></member></struct></value>"
    "</member>"
    "<member><name>power_state</name><value>Hibernating</value></member>"
    "<member><name>memory_static_max</name><value><i4>42</i4></value></member>"
    "<member><name>VCPUs_max</name><value><string>8</string></value></member>"
    "<member><name>is_a_template</name><value><boolean>1</boolean></value></member>"
    "<member><name>name_label</name><value>second &amp; last</value></member>"
    "<member><name>allowed_operations</name><value><array><data><value>start</value>"
    "<value>teleport</value><value>CLONE</value></data></array></value></member>"
    "<member><name>resident_on</name><value>OpaqueRef:host1</value></member>"
    "<member><name>VBDs</name><value><array><data><value>OpaqueRef:b1</value>"
    "<value>OpaqueRef:b2</value></data></array></value></member>"
    "<member><name>other_config</name><value><struct><member><name>k</name><value>v</value>"
    "</member></struct></value></member>"
    "</struct></value>";

static int
fake_call(const void *data, size_t len, void *user_handle, void *result_handle,
          xen_result_func result_func)
{
    const char *req = data;
    const char *answer = NULL;
    (void)user_handle;
    CHECK(len < sizeof(last_request));
    memcpy(last_request, data, len);
    last_request[len] = '\0';
    int params = 0;
    for (const char *p = req; (p = strstr(p, "<param>")) != NULL; p++)
        params++;
    if (strstr(req, "<methodName>session.login_with_password<") != NULL)
    {
        if (params == 3)
        {
            logins_with_3_args++;
            answer = failure("<value>MESSAGE_PARAMETER_COUNT_MISMATCH</value>"
                             "<value>session.login_with_password</value>"
                             "<value>2</value><value>3</value>");
        }
        else
        {
            logins_with_2_args++;
            answer = success("<value>OpaqueRef:session1</value>");
        }
    }
    else if (strstr(req, "<methodName>session.get_this_host<") != NULL)
        answer = failure("<value>MESSAGE_METHOD_UNKNOWN</value>"
                         "<value>session.get_this_host</value>");
    else if (strstr(req, "<methodName>VM.get_record<") != NULL)
        answer = success(VM_RECORD);
    else if (strstr(req, "<methodName>VM.get_all_records<") != NULL)
        answer = success("<value><struct><member><name>OpaqueRef:vm1</name>"
                         "<value><struct></struct></value></member></struct></value>");
    else if (strstr(req, "<methodName>VM.get_power_state<") != NULL)
        answer = success("<value>a_state_from_the_future</value>");
    else if (strstr(req, "<methodName>VM.get_snapshot_time<") != NULL)
        answer = success("<value><dateTime.iso8601>20240229T12:34:56Z</dateTime.iso8601>"
                         "</value>");
    else if (strstr(req, "<methodName>VM_metrics.get_start_time<") != NULL)
        answer = success("<value><dateTime.iso8601>2024-02-29T12:34:56Z</dateTime.iso8601>"
                         "</value>");
    else if (strstr(req, "<methodName>VM.get_VCPUs_max<") != NULL)
        answer = success("<value><array><data></data></array></value>");  /* wrong shape */
    else if (strstr(req, "<methodName>VM.get_name_label<") != NULL)
        answer = "this is not XML";
    else if (strstr(req, "<methodName>VM.start<") != NULL)
        answer = failure("<value>VM_BAD_POWER_STATE</value><value>OpaqueRef:vm1</value>"
                         "<value>halted</value><value>running</value>");
    else if (strstr(req, "<methodName>VM.pause<") != NULL)
        answer = failure("<value>OTHER_ERROR</value>");
    else if (strstr(req, "<methodName>session.logout<") != NULL)
        answer = success("<value></value>");
    if (answer == NULL)
        return 1;               /* a transport failure */
    /* hand the body over in two pieces, as a transport may */
    size_t n = strlen(answer), half = n / 2;
    return result_func(answer, half, result_handle)
        && result_func(answer + half, n - half, result_handle) ? 0 : 1;
}

int
main(void)
{
    xen_init();
    xen_session *s = xen_session_login_with_password(fake_call, NULL, "root", "pw",
                                                     xen_api_latest_version);
    CHECK(s->ok && logins_with_3_args == 1 && logins_with_2_args == 1);
    CHECK(strcmp(s->session_id, "OpaqueRef:session1") == 0);
    CHECK(s->api_version == xen_api_unknown_version);  /* get_this_host was refused */
    printf("login: fell back to 2 arguments\n");

    xen_vm_record *r = NULL;
    CHECK(xen_vm_get_record(s, &r, "OpaqueRef:vm1"));
    CHECK(strstr(last_request, "<param><value><string>OpaqueRef:session1</string></value>"
                               "</param><param><value><string>OpaqueRef:vm1</string>") != NULL);
    CHECK(strcmp(r->handle, "OpaqueRef:vm1") == 0);
    CHECK(strcmp(r->uuid, "1234") == 0);
    CHECK(strcmp(r->name_label, "second & last") == 0);
    CHECK(r->power_state == XEN_VM_POWER_STATE_UNDEFINED);
    CHECK(strcmp(xen_vm_power_state_to_string(r->power_state), "undefined") == 0);
    CHECK(r->memory_static_max == 42 && r->vcpus_max == 8 && r->is_a_template);
    CHECK(r->allowed_operations->size == 3);
    CHECK(r->allowed_operations->contents[0] == XEN_VM_OPERATIONS_START);
    CHECK(r->allowed_operations->contents[1] == XEN_VM_OPERATIONS_UNDEFINED);
    CHECK(r->allowed_operations->contents[2] == XEN_VM_OPERATIONS_CLONE);
    CHECK(!r->resident_on->is_record
          && strcmp(r->resident_on->u.handle, "OpaqueRef:host1") == 0);
    CHECK(r->vbds->size == 2 && strcmp(r->vbds->contents[1]->u.handle, "OpaqueRef:b2") == 0);
    CHECK(r->other_config->size == 1 && strcmp(r->other_config->contents[0].key, "k") == 0);
    /* members the response lacks: empty, not NULL */
    CHECK(r->name_description != NULL && strcmp(r->name_description, "") == 0);
    CHECK(r->vifs != NULL && r->vifs->size == 0 && r->platform != NULL);
    CHECK(strcmp(r->suspend_vdi->u.handle, "OpaqueRef:NULL") == 0);
    xen_vm_record_free(r);
    printf("record: unknown member skipped, unknown enum UNDEFINED, last duplicate kept\n");

    xen_vm_xen_vm_record_map *all = NULL;
    CHECK(xen_vm_get_all_records(s, &all) && all->size == 1);
    CHECK(strcmp(all->contents[0].val->handle, "OpaqueRef:vm1") == 0);
    xen_vm_xen_vm_record_map_free(all);

    enum xen_vm_power_state state = XEN_VM_POWER_STATE_RUNNING;
    CHECK(xen_vm_get_power_state(s, &state, "OpaqueRef:vm1"));
    CHECK(state == XEN_VM_POWER_STATE_UNDEFINED);
    CHECK(xen_vm_power_state_from_string(s, "rUnNiNg") == XEN_VM_POWER_STATE_RUNNING);
    CHECK(xen_vm_power_state_from_string(s, "nope") == XEN_VM_POWER_STATE_UNDEFINED);
    CHECK(s->ok);

    time_t t = 0;
    CHECK(xen_vm_get_snapshot_time(s, &t, "OpaqueRef:vm1") && t == 1709210096);
    t = 0;
    CHECK(xen_vm_metrics_get_start_time(s, &t, "OpaqueRef:m1") && t == 1709210096);
    printf("scalars: ints, datetimes, enums read\n");

    int64_t vcpus = 0;
    CHECK(!xen_vm_get_vcpus_max(s, &vcpus, "OpaqueRef:vm1"));
    CHECK(strcmp(s->error_description[0], "XMLRPC_UNMARSHAL_FAILURE") == 0);
    xen_session_clear_error(s);
    char *name = NULL;
    CHECK(!xen_vm_get_name_label(s, &name, "OpaqueRef:vm1") && name == NULL);
    CHECK(strcmp(s->error_description[0], "XMLRPC_UNMARSHAL_FAILURE") == 0);
    xen_session_clear_error(s);
    CHECK(!xen_vm_get_domid(s, &vcpus, "OpaqueRef:vm1"));          /* no answer at all */
    CHECK(strcmp(s->error_description[0], "TRANSPORT_FAULT") == 0);
    xen_session_clear_error(s);
    printf("malformed answers and transport failures: errors\n");

    CHECK(!xen_vm_start(s, "OpaqueRef:vm1", false, false));
    CHECK(s->error_description_count == 4);
    CHECK(!xen_vm_pause(s, "OpaqueRef:vm1"));
    CHECK(s->error_description_count == 4
          && strcmp(s->error_description[0], "VM_BAD_POWER_STATE") == 0
          && strcmp(s->error_description[3], "running") == 0);
    CHECK(!xen_vm_get_power_state(s, &state, "OpaqueRef:vm1"));    /* ok stays false */
    xen_session_clear_error(s);
    CHECK(s->ok && s->error_description == NULL);
    CHECK(!xen_vm_pause(s, "OpaqueRef:vm1") && s->error_description_count == 1);
    printf("errors: the first one kept until cleared\n");

    xen_session_logout(s);
    xen_fini();
    printf("done\n");
    return 0;
}
