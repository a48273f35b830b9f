/*
 * utils.c: libxl's uuid and bitmap helpers (libxl_uuid.h, libxl_utils.h).
 */
#include "sim_internal.h"

#include <stdio.h>
#include <sys/random.h>

/* ---- uuid ---- */

int libxl_uuid_is_nil(const libxl_uuid *uuid)
{
    for (int i = 0; i < 16; i++)
        if (uuid->uuid[i])
            return 0;
    return 1;
}

void libxl_uuid_generate(libxl_uuid *uuid)
{
    size_t got = 0;
    while (got < 16) {
        ssize_t r = getrandom(uuid->uuid + got, 16 - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            abort();  /* the kernel always has entropy for this after boot */
        }
        got += (size_t)r;
    }
    uuid->uuid[6] = (uint8_t)((uuid->uuid[6] & 0x0f) | 0x40);  /* version 4 */
    uuid->uuid[8] = (uint8_t)((uuid->uuid[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* As Xen on Linux (uuid_parse): 0 on success, -1 if malformed; ERROR_INVAL for NULL. */
int libxl_uuid_from_string(libxl_uuid *uuid, const char *in)
{
    uint8_t out[16];
    if (!in)
        return ERROR_INVAL;
    if (strlen(in) != LIBXL_UUID_FMTLEN)
        return -1;
    int j = 0;
    for (int i = 0; i < LIBXL_UUID_FMTLEN;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (in[i] != '-')
                return -1;
            i++;
            continue;
        }
        int hi = hexval(in[i]), lo = hexval(in[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[j++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    memcpy(uuid->uuid, out, 16);
    return 0;
}

void libxl_uuid_copy(libxl_ctx *ctx_opt, libxl_uuid *dst, const libxl_uuid *src)
{
    (void)ctx_opt;
    memcpy(dst->uuid, src->uuid, 16);
}

void libxl_uuid_clear(libxl_uuid *uuid)
{
    memset(uuid->uuid, 0, 16);
}

int libxl_uuid_compare(const libxl_uuid *uuid1, const libxl_uuid *uuid2)
{
    return memcmp(uuid1->uuid, uuid2->uuid, 16);
}

const uint8_t *libxl_uuid_bytearray_const(const libxl_uuid *uuid)
{
    return uuid->uuid;
}

uint8_t *libxl_uuid_bytearray(libxl_uuid *uuid)
{
    return uuid->uuid;
}

/* ---- bitmaps ---- */

int libxl_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *bitmap, int n_bits)
{
    (void)ctx;
    if (n_bits < 0)
        return ERROR_INVAL;
    uint32_t sz = (uint32_t)(n_bits + 7) / 8;
    bitmap->map = xlsim__calloc(sz ? sz : 1, 1);
    bitmap->size = sz;
    return 0;
}

void libxl_bitmap_copy(libxl_ctx *ctx, libxl_bitmap *dptr, const libxl_bitmap *sptr)
{
    (void)ctx;
    uint32_t sz = dptr->size < sptr->size ? dptr->size : sptr->size;
    if (sz)
        memcpy(dptr->map, sptr->map, sz);
}

void libxl_bitmap_copy_alloc(libxl_ctx *ctx, libxl_bitmap *dptr, const libxl_bitmap *sptr)
{
    (void)ctx;
    dptr->map = xlsim__calloc(sptr->size ? sptr->size : 1, 1);
    dptr->size = sptr->size;
    if (sptr->size)
        memcpy(dptr->map, sptr->map, sptr->size);
}

int libxl_bitmap_is_full(const libxl_bitmap *bitmap)
{
    for (uint32_t i = 0; i < bitmap->size; i++)
        if (bitmap->map[i] != 0xff)
            return 0;
    return 1;
}

int libxl_bitmap_is_empty(const libxl_bitmap *bitmap)
{
    for (uint32_t i = 0; i < bitmap->size; i++)
        if (bitmap->map[i])
            return 0;
    return 1;
}

int libxl_bitmap_test(const libxl_bitmap *bitmap, int bit)
{
    if (bit < 0 || (uint32_t)bit >= bitmap->size * 8)
        return 0;
    return (bitmap->map[bit / 8] & (1 << (bit & 7))) ? 1 : 0;
}

void libxl_bitmap_set(libxl_bitmap *bitmap, int bit)
{
    if (bit < 0 || (uint32_t)bit >= bitmap->size * 8)
        return;
    bitmap->map[bit / 8] |= (uint8_t)(1 << (bit & 7));
}

void libxl_bitmap_reset(libxl_bitmap *bitmap, int bit)
{
    if (bit < 0 || (uint32_t)bit >= bitmap->size * 8)
        return;
    bitmap->map[bit / 8] &= (uint8_t)~(1 << (bit & 7));
}

int xlsim__popcount(const uint8_t *map, size_t bytes)
{
    int n = 0;
    for (size_t i = 0; i < bytes; i++)
        n += __builtin_popcount(map[i]);
    return n;
}

int libxl_bitmap_count_set(const libxl_bitmap *bitmap)
{
    return bitmap->map ? xlsim__popcount(bitmap->map, bitmap->size) : 0;
}

static int bitmap_combine(libxl_bitmap *out, const libxl_bitmap *a, const libxl_bitmap *b,
                          int is_or)
{
    uint32_t sz = is_or ? (a->size > b->size ? a->size : b->size)
                        : (a->size < b->size ? a->size : b->size);
    libxl_bitmap r;
    libxl_bitmap_init(&r);
    libxl_bitmap_alloc(NULL, &r, (int)sz * 8);
    for (uint32_t i = 0; i < sz; i++) {
        uint8_t x = i < a->size ? a->map[i] : 0, y = i < b->size ? b->map[i] : 0;
        r.map[i] = is_or ? (x | y) : (x & y);
    }
    *out = r;
    return 0;
}

/* The result is newly allocated (out must be initialised, not allocated). */
int libxl_bitmap_or(libxl_ctx *ctx, libxl_bitmap *or_map, const libxl_bitmap *map1,
                    const libxl_bitmap *map2)
{
    (void)ctx;
    return bitmap_combine(or_map, map1, map2, 1);
}

int libxl_bitmap_and(libxl_ctx *ctx, libxl_bitmap *and_map, const libxl_bitmap *map1,
                     const libxl_bitmap *map2)
{
    (void)ctx;
    return bitmap_combine(and_map, map1, map2, 0);
}

/* "0x" then the bytes, most significant first (as libxl). */
char *libxl_bitmap_to_hex_string(libxl_ctx *ctx, const libxl_bitmap *bitmap)
{
    (void)ctx;
    size_t len = bitmap->size * 2 + 3;
    char *s = xlsim__calloc(len, 1);
    char *p = s + sprintf(s, "0x");
    for (int i = (int)bitmap->size - 1; i >= 0; i--)
        p += sprintf(p, "%02x", bitmap->map[i]);
    return s;
}

int libxl_cpu_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *cpumap, int max_cpus)
{
    if (max_cpus < 0)
        return ERROR_INVAL;
    if (max_cpus == 0) {
        max_cpus = libxl_get_max_cpus(ctx);
        if (max_cpus < 0)
            return ERROR_FAIL;
    }
    return libxl_bitmap_alloc(ctx, cpumap, max_cpus);
}

int libxl_node_bitmap_alloc(libxl_ctx *ctx, libxl_bitmap *nodemap, int max_nodes)
{
    if (max_nodes < 0)
        return ERROR_INVAL;
    if (max_nodes == 0) {
        max_nodes = libxl_get_max_nodes(ctx);
        if (max_nodes < 0)
            return ERROR_FAIL;
    }
    return libxl_bitmap_alloc(ctx, nodemap, max_nodes);
}

/* Copy a caller bitmap into a fixed map of nbits; ERROR_INVAL if bits beyond nbits are set. */
int xlsim__bitmap_bits_from(uint8_t *dst, size_t dst_bytes, const libxl_bitmap *src, int nbits)
{
    memset(dst, 0, dst_bytes);
    int beyond = 0;
    for (uint32_t i = 0; src->map && i < src->size * 8; i++) {
        if (!libxl_bitmap_test(src, (int)i))
            continue;
        if ((int)i >= nbits || i / 8 >= dst_bytes) {
            beyond = 1;
            continue;
        }
        dst[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    return beyond ? ERROR_INVAL : 0;
}

int libxl_domid_valid_guest(uint32_t domid)
{
    /* Xen 4.17: 0 is dom0, >= DOMID_FIRST_RESERVED are special. */
    return domid > 0 && domid < XLSIM_NR_DOMIDS;
}
