/* The build a checkpoint records and a resume must match: "mnsim <version> <id>", where id is
 * the first 8 bytes (16 hex digits) of the GNU build id of the object that holds this code
 * (executable or shared library). The linker computes that id as a SHA-1 over the linked
 * object (ld --build-id, asked for in CMakeLists.txt), so any change of code, compiler or flags
 * changes it while an identical rebuild keeps it. Without the note (another linker), the id is
 * an FNV-1a hash of the object's executable segments as loaded, which has the same property.
 * The ELF note layout: namesz, descsz, type (4 bytes each), then name and desc, each padded to
 * the segment's alignment, 4 bytes (8 in a segment aligned to 8, as GNU property notes are;
 * System V ABI, "Note Section"); NT_GNU_BUILD_ID = 3 with name "GNU". Pipeline: core. */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

#include "mnsim/core.h"

typedef struct {
  uintptr_t self; /* an address inside the object we look for */
  char hex[17];   /* its build id, or the hash of its code */
} find_t;

/* Whether one of the object's PT_LOAD segments holds address a. */
static int holds(const struct dl_phdr_info *info, uintptr_t a) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && a >= lo && a - lo < ph->p_memsz) return 1;
  }
  return 0;
}

static void hex8(const unsigned char *b, char out[17]) {
  for (int i = 0; i < 8; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The GNU build-id note in segment ph, if it holds one: 1 and its first 8 bytes in hex. */
static int build_note(const struct dl_phdr_info *info, const ElfW(Phdr) * ph, char out[17]) {
  const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
  size_t n = ph->p_memsz, at = 0, a = ph->p_align == 8 ? 8 : 4;
  while (n - at >= 12) {
    uint32_t namesz, descsz, type;
    memcpy(&namesz, p + at, 4), memcpy(&descsz, p + at + 4, 4), memcpy(&type, p + at + 8, 4);
    size_t name_pad = ((size_t)namesz + a - 1) & ~(a - 1),
           desc_pad = ((size_t)descsz + a - 1) & ~(a - 1);
    if (name_pad > n - at - 12 || desc_pad > n - at - 12 - name_pad) return 0;
    const unsigned char *name = p + at + 12, *desc = name + name_pad;
    if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(name, "GNU", 4) == 0 && descsz >= 8) {
      hex8(desc, out);
      return 1;
    }
    at += 12 + name_pad + desc_pad;
  }
  return 0;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  find_t *f = data;
  if (!holds(info, f->self)) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_NOTE && build_note(info, &info->dlpi_phdr[i], f->hex))
      return 1;
  uint64_t h = 1469598103934665603ull; /* no note: the code as loaded */
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
      h = mn_fnv1a64(h, (const void *)(info->dlpi_addr + ph->p_vaddr), ph->p_filesz);
  }
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(h >> (56 - 8 * i));
  hex8(b, f->hex);
  return 1;
}

static char build_id[64];
static once_flag build_once = ONCE_FLAG_INIT;

static void find_build(void) {
  find_t f = {(uintptr_t)&find_build, "unknown"};
  dl_iterate_phdr(visit, &f);
  snprintf(build_id, sizeof build_id, "mnsim %s %s", MNSIM_VERSION, f.hex);
}

const char *mn_build_id(void) {
  call_once(&build_once, find_build);
  return build_id;
}
