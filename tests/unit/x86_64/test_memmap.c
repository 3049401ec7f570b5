/* tests/unit/x86_64/test_memmap.c: the PVH start info and memory map with hostile values, and the
 * device windows judged against them. */
#include <criterion/criterion.h>
#include <string.h>

#include "memmap.h"

#define GiB (1ull << 30)

/* The guest's physical memory: a few buffers at made-up addresses. */
static struct seg {
    uint64_t pa;
    uint8_t *buf;
    uint64_t len;
} segs[4];
static unsigned nsegs;

static const void *peek(void *ctx, uint64_t pa, uint64_t *len)
{
    (void)ctx;
    for (unsigned i = 0; i < nsegs; i++) {
        struct seg *s = &segs[i];
        if (pa >= s->pa && pa < s->pa + s->len) {
            if (*len > s->pa + s->len - pa)
                *len = s->pa + s->len - pa;
            return s->buf + (pa - s->pa);
        }
    }
    return NULL;
}

static uint8_t low[64 * 1024]; /* start info, command line and map live at 0x8000.. */
static struct x86_start st;

static void place(uint64_t pa, const void *p, size_t n)
{
    cr_assert(pa >= 0x8000 && pa - 0x8000 + n <= sizeof low);
    memcpy(low + (pa - 0x8000), p, n);
}

static void setup(void)
{
    memset(low, 0, sizeof low);
    segs[0] = (struct seg){ 0x8000, low, sizeof low };
    nsegs = 1;
}

TestSuite(pvh, .init = setup);

#define SI_PA  0x8000
#define CMD_PA 0x9000
#define MAP_PA 0xa000

static void start_info(uint32_t version, uint64_t cmdline, uint64_t map, uint32_t entries)
{
    struct pvh_start_info si = { .magic = PVH_START_MAGIC,
                                 .version = version,
                                 .cmdline_paddr = cmdline,
                                 .rsdp_paddr = 0xf5c70,
                                 .memmap_paddr = map,
                                 .memmap_entries = entries };
    place(SI_PA, &si, sizeof si);
}

/* What QEMU's pc hands over with 64 MiB: note the empty entry and the range above 1 TiB. */
static const struct pvh_memmap_entry qemu_pc[] = {
    { 0, 0x9fc00, 1, 0 },
    { 0x9fc00, 0x400, 2, 0 },
    { 0xd0000, 0x20000, 4, 0 },
    { 0xf0000, 0x10000, 2, 0 },
    { 0xfd00000000, 0x300000000, 2, 0 },
    { 0x100000, 0x3f00000, 1, 0 },
    { 0, 0, 0, 0 },
};

Test(pvh, qemu_pc_start_info_gives_cmdline_rsdp_and_a_cleaned_map)
{
    const char cmd[] = "-- --exit=3";
    place(CMD_PA, cmd, sizeof cmd);
    place(MAP_PA, qemu_pc, sizeof qemu_pc);
    start_info(1, CMD_PA, MAP_PA, 7);
    cr_assert_null(x86_start_read(SI_PA, peek, NULL, &st));
    cr_assert_str_eq(st.cmdline, cmd);
    cr_assert_eq(st.rsdp, 0xf5c70);
    cr_assert_eq(st.map.n, 5, "the empty entry and the one above 512 GiB are dropped");
    cr_assert_eq(st.map.e[4].addr, 0x100000);
    cr_assert_eq(st.map.e[4].size, 0x3f00000);
    const struct pvh_memmap_entry *ram = x86_memmap_ram_holding(&st.map, 0x100000, 0x162000);
    cr_assert_not_null(ram);
    cr_assert_eq(ram->addr, 0x100000);
}

Test(pvh, version_0_has_no_map_and_an_absent_cmdline_is_empty)
{
    start_info(0, 0, MAP_PA, 7); /* version 0: the map fields are not there */
    cr_assert_null(x86_start_read(SI_PA, peek, NULL, &st));
    cr_assert_eq(st.map.n, 0);
    cr_assert_str_eq(st.cmdline, "");
}

Test(pvh, no_start_info_is_refused)
{
    cr_assert_not_null(strstr(x86_start_read(0, peek, NULL, &st), "PVH boot ABI"));
    cr_assert_not_null(strstr(x86_start_read(SI_PA, peek, NULL, &st), "PVH boot ABI"), "no magic");
    cr_assert_not_null(strstr(x86_start_read(0x100000, peek, NULL, &st), "PVH boot ABI"),
                       "outside readable memory");
    /* a version 1 start info whose second half is past the end of memory */
    struct pvh_start_info si = { .magic = PVH_START_MAGIC, .version = 1 };
    memcpy(low + sizeof low - 48, &si, 48);
    const char *why = x86_start_read(0x8000 + sizeof low - 48, peek, NULL, &st);
    cr_assert_not_null(why);
    cr_assert_not_null(strstr(why, "runs past"), "%s", why);
}

Test(pvh, a_cmdline_without_nul_or_too_long_is_refused)
{
    start_info(1, 0x8000 + sizeof low - 5, 0, 0);
    memcpy(low + sizeof low - 5, "abcde", 5); /* no NUL before memory ends */
    const char *why = x86_start_read(SI_PA, peek, NULL, &st);
    cr_assert_not_null(why);
    cr_assert_not_null(strstr(why, "no NUL"), "%s", why);
    memset(low + 0x1000, 'x', 9000);
    start_info(1, CMD_PA, 0, 0);
    why = x86_start_read(SI_PA, peek, NULL, &st);
    cr_assert_not_null(why);
    cr_assert_not_null(strstr(why, "longer than 8191"), "%s", why);
    cr_assert_eq(strlen(st.cmdline), 8191, "the copy stops at the buffer's end");
    start_info(1, 0x7fff0000, 0, 0);
    cr_assert_not_null(strstr(x86_start_read(SI_PA, peek, NULL, &st), "outside"));
}

Test(pvh, hostile_entry_counts_and_map_pointers_are_refused)
{
    place(MAP_PA, qemu_pc, sizeof qemu_pc);
    const uint32_t counts[] = { 65, 1000, UINT32_MAX };
    for (unsigned i = 0; i < 3; i++) {
        start_info(1, 0, MAP_PA, counts[i]);
        const char *why = x86_start_read(SI_PA, peek, NULL, &st);
        cr_assert_not_null(why, "%u entries", counts[i]);
        cr_assert_not_null(strstr(why, "more than 64"), "%s", why);
    }
    start_info(1, 0, 0x8000 + sizeof low - 24 * 3, 4); /* the fourth entry is past the end */
    cr_assert_not_null(strstr(x86_start_read(SI_PA, peek, NULL, &st), "outside"));
    start_info(1, 0, 0xfffffffffffffff0ull, 2);
    cr_assert_not_null(strstr(x86_start_read(SI_PA, peek, NULL, &st), "outside"));
}

static const char *add(struct x86_memmap *m, uint64_t addr, uint64_t size, uint32_t type)
{
    struct pvh_memmap_entry e = { addr, size, type, 0 };
    return x86_memmap_add(m, &e);
}

Test(pvh, wrapping_huge_and_misplaced_entries)
{
    struct x86_memmap m = { .n = 0 };
    cr_assert_not_null(add(&m, 0xfffffffffffff000ull, 0x2000, 1), "wraps");
    cr_assert_not_null(add(&m, 1 * GiB, UINT64_MAX, 2), "wraps");
    cr_assert_null(add(&m, 4 * GiB, 1ull << 62, 1));
    cr_assert_eq(m.e[0].addr + m.e[0].size, X86_PHYS_LIMIT, "clipped to what the image maps");
    cr_assert_null(add(&m, X86_PHYS_LIMIT, GiB, 1));
    cr_assert_eq(m.n, 1, "an entry wholly above 512 GiB is dropped");
    const char *why = add(&m, 0xc0000000, 0x40000000, 1);
    cr_assert_not_null(why);
    cr_assert_not_null(strstr(why, "device window"), "%s", why);
    cr_assert_null(add(&m, 0xfeff8000, 0x8000, 2), "reserved there is what Xen does");
    for (unsigned i = m.n; i < X86_MEMMAP_MAX; i++)
        cr_assert_null(add(&m, 0x100000 + i * 0x1000, 0x1000, 2));
    cr_assert_not_null(add(&m, 0x200000, 0x1000, 1), "a 65th entry");
    cr_assert_eq(m.n, X86_MEMMAP_MAX);
}

/* The pc map, with the image at 1 MiB and its page tables up to 1.5 MiB. */
static struct x86_memmap pc(void)
{
    struct x86_memmap m = { .n = 0 };
    for (unsigned i = 0; i < sizeof qemu_pc / sizeof *qemu_pc; i++)
        cr_assert_null(x86_memmap_add(&m, &qemu_pc[i]));
    return m;
}
#define IMG_LO 0x100000ull
#define IMG_HI 0x180000ull

static void refused(const struct x86_memmap *m, uint64_t pa, uint64_t len, const char *what)
{
    const char *why = x86_memmap_window_check(m, IMG_LO, IMG_HI, pa, len);
    cr_assert_not_null(why, "0x%llx+0x%llx was allowed", (unsigned long long)pa,
                       (unsigned long long)len);
    cr_assert_not_null(strstr(why, what), "0x%llx: %s", (unsigned long long)pa, why);
}

Test(pvh, device_windows_never_cover_ram_image_or_tables)
{
    struct x86_memmap m = pc();
    refused(&m, 0x100000, 0x1000, "image"); /* the image's RAM: "image" is said first */
    refused(&m, 0x17f000, 0x2000, "image");
    refused(&m, 0x200000, 0x4000, "RAM");
    refused(&m, 0x3fff000, 0x2000, "RAM");
    refused(&m, 0xa0000, 0x1000, "first MiB");
    refused(&m, 0, 1, "first MiB");
    refused(&m, 0xfe000000, 0, "empty");
    refused(&m, 0xfffffffffffff000ull, 0x2000, "512 GiB");
    refused(&m, X86_PHYS_LIMIT - 0x1000, 0x2000, "512 GiB");
    cr_assert_null(x86_memmap_window_check(&m, IMG_LO, IMG_HI, 0xfebf0000, 0x4000));
    cr_assert_null(x86_memmap_window_check(&m, IMG_LO, IMG_HI, 0x4000000, 0x1000), "just past RAM");
    refused(&m, 0xfd00000000ull, 0x1000, "512 GiB"); /* where pc's map has a reserved range */
    cr_assert_null(x86_memmap_window_check(&m, IMG_LO, IMG_HI, 0x80000000ull, 0x1000),
                   "a hole between RAM and the device window");
    /* overlapping entries: RAM declared again over a reserved range still counts as RAM */
    cr_assert_null(add(&m, 0x8000000, 0x1000000, 2));
    cr_assert_null(add(&m, 0x8800000, 0x100000, 1));
    refused(&m, 0x8800000, 0x1000, "RAM");
    cr_assert_null(x86_memmap_window_check(&m, IMG_LO, IMG_HI, 0x8000000, 0x1000));
}

Test(pvh, firmware_tables_are_read_only_where_the_boot_mapped_them)
{
    struct x86_memmap m = pc();
    cr_assert(x86_memmap_readable(&m, IMG_LO, IMG_HI, 0xf5c70, 36), "the RSDP, below 1 MiB");
    cr_assert(x86_memmap_readable(&m, IMG_LO, IMG_HI, 0xe0000, 0x20000), "the BIOS area");
    cr_assert(!x86_memmap_readable(&m, IMG_LO, IMG_HI, 0, 36), "page 0 is unmapped");
    cr_assert(!x86_memmap_readable(&m, IMG_LO, IMG_HI, 0xff0, 0x20));
    cr_assert(!x86_memmap_readable(&m, IMG_LO, IMG_HI, 0x120000, 36), "inside the image");
    cr_assert(!x86_memmap_readable(&m, IMG_LO, IMG_HI, 0x170000, 0x20000), "into its tables");
    cr_assert(x86_memmap_readable(&m, IMG_LO, IMG_HI, 0x200000, 0x1000), "RAM (the heap)");
    cr_assert(!x86_memmap_readable(&m, IMG_LO, IMG_HI, 0x3fff000, 0x2000), "runs past RAM");
    cr_assert(!x86_memmap_readable(&m, IMG_LO, IMG_HI, 0xfeb00000, 36), "a device window");
    cr_assert(!x86_memmap_readable(&m, IMG_LO, IMG_HI, UINT64_MAX - 8, 36), "wraps");
    cr_assert(!x86_memmap_readable(&m, IMG_LO, IMG_HI, 0xff000, 0x2000),
              "from the first MiB into the image");
    /* an ACPI entry, not page aligned: only its whole pages are mapped */
    cr_assert_null(add(&m, 0x7000800, 0x2000, PVH_MEM_ACPI));
    cr_assert(x86_memmap_readable(&m, IMG_LO, IMG_HI, 0x7001000, 0x800));
    cr_assert(!x86_memmap_readable(&m, IMG_LO, IMG_HI, 0x7000800, 0x10), "a partial page");
    /* two entries back to back cover a table that straddles them */
    cr_assert_null(add(&m, 0x7002000, 0x1000, PVH_MEM_RAM));
    cr_assert(x86_memmap_readable(&m, IMG_LO, IMG_HI, 0x7001f00, 0x200));
}
