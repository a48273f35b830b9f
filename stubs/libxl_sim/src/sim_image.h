/*
 * sim_image.h: the simulator's save image (what libxl_domain_suspend writes
 * and libxl_domain_create_restore reads). Fixed-size, little-endian host order.
 */
#ifndef XLSIM_IMAGE_H
#define XLSIM_IMAGE_H

#include <stdint.h>

struct xlsim_image {
    char magic[8];          /* XLSIM_IMAGE_MAGIC */
    uint32_t version;       /* 1 */
    uint32_t size;          /* sizeof(struct xlsim_image) */
    uint8_t uuid[16];
    char name[128];
    uint64_t target_kb;
    uint64_t static_max_kb;
    uint64_t cpu_time_ns;
    uint32_t max_vcpus;
    uint32_t online_vcpus;
    uint32_t domid;
    uint32_t checksum;      /* of the bytes before it */
};

void xlsim__image_fill(struct xlsim_image *img);  /* magic, version, size, checksum */
int xlsim__image_check(const struct xlsim_image *img);

#endif
