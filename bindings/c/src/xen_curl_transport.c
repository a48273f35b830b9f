/*
 * libxenserver's transport: XML-RPC requests POSTed with libcurl over HTTP, HTTPS or a Unix
 * socket. One curl handle per transport (connections are kept alive between calls); a
 * transport is not for concurrent use from several threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include <xen/api/xen_curl_transport.h>

struct xen_curl_transport
{
    CURL *curl;
    struct curl_slist *headers;
    char *url;                  /* what curl connects to */
    char *unix_path;            /* NULL unless over a Unix socket */
    bool verify;
    char *ca_file;
    long timeout;
    char error[CURL_ERROR_SIZE];
};

xen_curl_transport *
xen_curl_transport_new(const char *url)
{
    if (url == NULL)
        return NULL;
    bool is_unix = strncmp(url, "unix:", 5) == 0;
    if (!is_unix && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return NULL;
    xen_curl_transport *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->verify = true;
    if (is_unix)
    {
        const char *path = url + 5;
        while (path[0] == '/' && path[1] == '/')    /* unix:///path and unix:/path alike */
            path++;
        t->unix_path = strdup(path);
        t->url = strdup("http://localhost/");
    }
    else
        t->url = strdup(url);
    t->curl = curl_easy_init();
    t->headers = curl_slist_append(NULL, "Content-Type: text/xml");
    if (t->url == NULL || t->curl == NULL || t->headers == NULL || (is_unix && !t->unix_path))
    {
        xen_curl_transport_free(t);
        return NULL;
    }
    return t;
}

void
xen_curl_transport_set_tls(xen_curl_transport *t, bool verify, const char *ca_file)
{
    t->verify = verify;
    free(t->ca_file);
    t->ca_file = ca_file != NULL ? strdup(ca_file) : NULL;
}

void
xen_curl_transport_set_timeout(xen_curl_transport *t, long seconds)
{
    t->timeout = seconds;
}

const char *
xen_curl_transport_error(const xen_curl_transport *t)
{
    return t->error;
}

void
xen_curl_transport_free(xen_curl_transport *t)
{
    if (t == NULL)
        return;
    if (t->curl != NULL)
        curl_easy_cleanup(t->curl);
    curl_slist_free_all(t->headers);
    free(t->url);
    free(t->unix_path);
    free(t->ca_file);
    free(t);
}

typedef struct
{
    void *result_handle;
    xen_result_func result_func;
} sink;

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    sink *s = userdata;
    size_t n = size * nmemb;
    return s->result_func(ptr, n, s->result_handle) ? n : 0;
}

int
xen_curl_call(const void *data, size_t len, void *user_handle, void *result_handle,
              xen_result_func result_func)
{
    xen_curl_transport *t = user_handle;
    sink s = { result_handle, result_func };
    CURL *c = t->curl;
    t->error[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, t->url);
    if (t->unix_path != NULL)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->unix_path);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, t->timeout);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, t->verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, t->verify ? 2L : 0L);
    if (t->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
    {
        if (t->error[0] == '\0')
            snprintf(t->error, sizeof(t->error), "%s", curl_easy_strerror(rc));
        return 1;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
    {
        snprintf(t->error, sizeof(t->error), "HTTP status %ld", status);
        return 1;
    }
    return 0;
}
