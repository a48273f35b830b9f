/*
 * The shipped libcurl transport: log in over URL (http://, https://, unix:/path), list the
 * hosts, log out; a wrong password is SESSION_AUTHENTICATION_FAILED; a server that is not
 * there is a TRANSPORT_FAULT with curl's reason.
 *
 *     test_transport URL PASSWORD [CA_FILE]   (with CA_FILE the server's certificate is verified)
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

int
main(int argc, char **argv)
{
    CHECK(argc == 3 || argc == 4);
    xen_init();
    xen_curl_transport *t = xen_curl_transport_new(argv[1]);
    CHECK(t != NULL);
    if (argc == 4)
        xen_curl_transport_set_tls(t, true, argv[3]);
    xen_session *s = xen_session_login_with_password(xen_curl_call, t, "root", argv[2],
                                                     xen_api_latest_version);
    if (!s->ok)
        fprintf(stderr, "login: %s (%s)\n", s->error_description[0], xen_curl_transport_error(t));
    CHECK(s->ok);
    struct xen_host_set *hosts = NULL;
    CHECK(xen_host_get_all(s, &hosts) && hosts->size == 1);
    char *name = NULL;
    CHECK(xen_host_get_name_label(s, &name, hosts->contents[0]));
    printf("%s: host %s, api %s\n", argv[1], name, xen_api_version_to_string(s->api_version));
    free(name);
    xen_host_set_free(hosts);
    xen_session_logout(s);

    if (strncmp(argv[1], "unix:", 5) != 0)      /* the Unix socket trusts local root */
    {
        s = xen_session_login_with_password(xen_curl_call, t, "root", "wrong password",
                                            xen_api_latest_version);
        CHECK(!s->ok && s->error_description_count >= 1);
        printf("wrong password: %s\n", s->error_description[0]);
        xen_session_logout(s);
    }
    xen_curl_transport_free(t);

    t = xen_curl_transport_new("http://127.0.0.1:1/");
    s = xen_session_login_with_password(xen_curl_call, t, "root", argv[2],
                                        xen_api_latest_version);
    CHECK(!s->ok && strcmp(s->error_description[0], "TRANSPORT_FAULT") == 0);
    CHECK(strlen(xen_curl_transport_error(t)) > 0);
    printf("no server: TRANSPORT_FAULT\n");
    xen_session_logout(s);
    xen_curl_transport_free(t);
    CHECK(xen_curl_transport_new("ftp://example/") == NULL);
    xen_fini();
    return 0;
}
