/*
 * coredump.c: libxl_domain_core_dump. The simulator writes an ELF64 core file
 * (ET_CORE): a PT_NOTE "Xen" note with the domain's facts (domid, name, uuid,
 * type, vCPUs, memory) and a PT_LOAD segment as large as the guest's memory,
 * left sparse (a hole: the simulated guest has no page contents).
 */
#include "sim_internal.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define XLSIM_CORE_NOTE_TYPE 0x2000001   /* XEN_ELFNOTE_DUMPCORE_HEADER's number */
#define XLSIM_CORE_BODY_OFF  4096

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The header page: ELF header, two program headers, the note. */
static size_t core_header(unsigned char *page, const char *facts, uint64_t mem_bytes)
{
    memset(page, 0, XLSIM_CORE_BODY_OFF);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)page;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_ident[EI_OSABI] = ELFOSABI_SYSV;
    eh->e_type = ET_CORE;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_phoff = sizeof(Elf64_Ehdr);
    eh->e_ehsize = sizeof(Elf64_Ehdr);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 2;

    size_t note_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
    size_t desc_len = strlen(facts) + 1;
    Elf64_Nhdr *nh = (Elf64_Nhdr *)(page + note_off);
    nh->n_namesz = 4;
    nh->n_descsz = (Elf64_Word)desc_len;
    nh->n_type = XLSIM_CORE_NOTE_TYPE;
    memcpy(page + note_off + sizeof(*nh), "Xen", 4);
    memcpy(page + note_off + sizeof(*nh) + 4, facts, desc_len);
    size_t note_len = sizeof(*nh) + 4 + ((desc_len + 3) & ~(size_t)3);

    Elf64_Phdr *ph = (Elf64_Phdr *)(page + eh->e_phoff);
    ph[0].p_type = PT_NOTE;
    ph[0].p_offset = note_off;
    ph[0].p_filesz = note_len;
    ph[0].p_align = 4;
    ph[1].p_type = PT_LOAD;
    ph[1].p_flags = PF_R | PF_W | PF_X;
    ph[1].p_offset = XLSIM_CORE_BODY_OFF;
    ph[1].p_filesz = ph[1].p_memsz = mem_bytes;
    ph[1].p_align = 4096;
    return XLSIM_CORE_BODY_OFF;
}

int libxl_domain_core_dump(libxl_ctx *ctx, uint32_t domid, const char *filename,
                           const libxl_asyncop_how *ao_how)
{
    char facts[1024];
    uint64_t mem_bytes = 0;
    xlsim__lock();
    int rc = xlsim__fault("libxl_domain_core_dump");
    struct sim_dom *d = rc ? NULL : xlsim__dom(domid);
    if (!rc && !d) {
        /* libxc opens (creates, truncates) the file before it asks about the domain: on
         * Xen 4.17 a failed dump of a missing domain leaves an empty file behind. */
        int fd = filename && *filename ?
                 open(filename, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600) : -1;
        if (fd >= 0)
            close(fd);
        LOGD(ERROR, domid, "Core dumping domain to %s: No such process",
             filename ? filename : "(null)");
        rc = ERROR_FAIL;
    } else if (!rc && domid == 0) {
        LOGD(ERROR, domid, "xc_domain_dumpcore failed: cannot dump the control domain");
        rc = ERROR_FAIL;
    } else if (!rc && (!filename || !*filename)) {
        LOGD(ERROR, domid, "core dump: a file name is required");
        rc = ERROR_INVAL;
    }
    if (!rc) {
        const uint8_t *u = d->uuid;
        mem_bytes = d->static_max_kb * 1024;
        snprintf(facts, sizeof(facts),
                 "domid=%u\nname=%s\nuuid=%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                 "%02x%02x%02x%02x%02x%02x\ntype=%s\nvcpus=%u\nmemory_kb=%llu\n"
                 "shutdown_reason=%d\n",
                 (unsigned)domid, d->name, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15],
                 libxl_domain_type_to_string((libxl_domain_type)d->type),
                 (unsigned)d->max_vcpus, (unsigned long long)d->static_max_kb,
                 d->shutdown ? (int)d->shutdown_reason : -1);
    }
    xlsim__unlock_ctx(ctx);
    if (!rc) {
        /* File I/O outside the state lock. */
        unsigned char *page = xlsim__calloc(1, XLSIM_CORE_BODY_OFF);
        size_t hlen = core_header(page, facts, mem_bytes);
        int fd = open(filename, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write_all(fd, page, hlen) ||
            ftruncate(fd, (off_t)(hlen + mem_bytes)) || fsync(fd)) {
            xlsim__log(XTL_ERROR, errno, "Domain %u: cannot write core file %s",
                       (unsigned)domid, filename);
            rc = ERROR_FAIL;
        }
        if (fd >= 0)
            close(fd);
        free(page);
        xlsim__flush(ctx->lg, "libxl");
    }
    return xlsim__ao_complete(ctx, ao_how, domid, rc);
}
