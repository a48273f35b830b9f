/* libxl_domain_core_dump: an ELF64 core with the domain's facts and a sparse memory body. */
#include "t.h"

#include <elf.h>
#include <sys/stat.h>

int main(void)
{
    xentoollog_logger *lg = t_logger();
    libxl_ctx *ctx = t_ctx(lg);
    t_reset();
    char path[] = "/tmp/xlsim-core-XXXXXX";
    int tfd = mkstemp(path);
    CHECK(tfd >= 0);
    CHECK(write(tfd, "old content", 11) == 11);
    close(tfd);

    uint32_t domid = t_create(ctx, "dumpme", 128, 2);
    CHECK_RC(libxl_domain_unpause(ctx, domid, NULL), 0);
    CHECK_RC(xlsim_guest_crash(domid), 0);
    CHECK_RC(libxl_domain_core_dump(ctx, domid, path, NULL), 0);

    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK((uint64_t)st.st_size == 4096 + 128ULL * 1024 * 1024);
    CHECK((uint64_t)st.st_blocks * 512 < 1024 * 1024);       /* sparse */
    CHECK((st.st_mode & 0777) == 0600);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    unsigned char page[4096];
    CHECK(fread(page, 1, sizeof(page), f) == sizeof(page));
    fclose(f);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)page;
    CHECK(!memcmp(eh->e_ident, ELFMAG, SELFMAG) && eh->e_type == ET_CORE);
    CHECK(eh->e_phnum == 2);
    Elf64_Phdr *ph = (Elf64_Phdr *)(page + eh->e_phoff);
    CHECK(ph[0].p_type == PT_NOTE && ph[1].p_type == PT_LOAD);
    CHECK(ph[1].p_offset == 4096 && ph[1].p_filesz == 128ULL * 1024 * 1024);
    Elf64_Nhdr *nh = (Elf64_Nhdr *)(page + ph[0].p_offset);
    const char *name = (const char *)(nh + 1);
    const char *desc = name + 4;
    CHECK(!strcmp(name, "Xen"));
    char want[64];
    snprintf(want, sizeof(want), "domid=%u\nname=dumpme\n", domid);
    CHECK(!strncmp(desc, want, strlen(want)));
    CHECK(strstr(desc, "type=pv\nvcpus=2\nmemory_kb=131072\nshutdown_reason=3\n") != NULL);

    /* A missing domain: as on Xen 4.17, libxc has created (and truncated) the file
     * before it learns the domain is not there. */
    CHECK_RC(libxl_domain_core_dump(ctx, 999, path, NULL), ERROR_FAIL);
    struct stat stb;
    CHECK(stat(path, &stb) == 0 && stb.st_size == 0);

    /* Other refusals write nothing. */
    unlink(path);
    CHECK_RC(libxl_domain_core_dump(ctx, 0, path, NULL), ERROR_FAIL);
    CHECK_RC(libxl_domain_core_dump(ctx, domid, "", NULL), ERROR_INVAL);
    CHECK_RC(xlsim_fail_next("libxl_domain_core_dump", 1, ERROR_FAIL), 0);
    CHECK_RC(libxl_domain_core_dump(ctx, domid, path, NULL), ERROR_FAIL);
    CHECK(access(path, F_OK) != 0);
    CHECK_RC(libxl_domain_core_dump(ctx, domid, "/nonexistent-dir/core", NULL), ERROR_FAIL);

    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    T_DONE();
}
