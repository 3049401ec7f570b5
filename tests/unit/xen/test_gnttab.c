/* Grant table v1: entries as Xen reads them, the reference allocator, revocation rules. */
#include <criterion/criterion.h>

#include "sim.h"

static grant_entry_v1_t table[64];
static struct xen_gnttab gt;

static void setup(void)
{
    memset(table, 0xee, sizeof table); /* garbage beyond the reserved entries must be cleared */
    table[GNTTAB_RESERVED_XENSTORE] = (grant_entry_v1_t){ GTF_permit_access, 0, 1234 };
    cr_assert_eq(xen_gnttab_init(&gt, table, 64), MIRC_OK);
}

TestSuite(gnttab, .init = setup,
          .timeout = 60); /* a spinning frontend fails, never hangs the run */

Test(gnttab, grant_fills_domid_and_frame_and_sets_permission_flags)
{
    grant_ref_t rw, ro;
    cr_assert_eq(xen_gnttab_grant(&gt, 3, 0x1234, 0, &rw), MIRC_OK);
    cr_assert_eq(xen_gnttab_grant(&gt, 5, 0xfffffffful, 1, &ro), MIRC_OK);
    cr_assert_eq(table[rw].flags, GTF_permit_access);
    cr_assert_eq(table[rw].domid, 3);
    cr_assert_eq(table[rw].frame, 0x1234);
    cr_assert_eq(table[ro].flags, GTF_permit_access | GTF_readonly);
    cr_assert_eq(table[ro].domid, 5);
    cr_assert_eq(table[ro].frame, 0xffffffffu);
    cr_assert_eq(table[20].flags, 0, "unused entries are cleared at init");
}

Test(gnttab, references_never_include_the_toolstack_reserved_entries)
{
    grant_ref_t r;
    for (unsigned i = 0; i < 64 - GNTTAB_NR_RESERVED_ENTRIES; i++) {
        cr_assert_eq(xen_gnttab_grant(&gt, 0, i, 0, &r), MIRC_OK);
        cr_assert_geq(r, GNTTAB_NR_RESERVED_ENTRIES);
        cr_assert_lt(r, 64);
    }
    cr_assert_eq(table[GNTTAB_RESERVED_XENSTORE].frame, 1234, "reserved entry left alone");
    cr_assert_eq(xen_gnttab_end(&gt, GNTTAB_RESERVED_XENSTORE), MIRC_INVALID);
}

Test(gnttab, exhaustion_returns_no_memory_and_an_ended_grant_is_reusable)
{
    grant_ref_t refs[64], r;
    unsigned n = 0;
    while (xen_gnttab_grant(&gt, 0, n, 0, &refs[n]) == MIRC_OK)
        n++;
    cr_assert_eq(n, 64 - GNTTAB_NR_RESERVED_ENTRIES);
    cr_assert_eq(xen_gnttab_free_count(&gt), 0);
    cr_assert_eq(xen_gnttab_grant(&gt, 0, 1, 0, &r), MIRC_NO_MEMORY);
    cr_assert_eq(xen_gnttab_end(&gt, refs[17]), MIRC_OK);
    cr_assert_eq(table[refs[17]].flags, 0, "revoked entries grant nothing");
    cr_assert_eq(xen_gnttab_grant(&gt, 0, 99, 1, &r), MIRC_OK);
    cr_assert_eq(r, refs[17]);
}

Test(gnttab, double_end_and_unknown_references_are_detected)
{
    grant_ref_t r;
    cr_assert_eq(xen_gnttab_grant(&gt, 0, 7, 0, &r), MIRC_OK);
    cr_assert_eq(xen_gnttab_end(&gt, r), MIRC_OK);
    cr_assert_eq(xen_gnttab_end(&gt, r), MIRC_INVALID);
    cr_assert_eq(xen_gnttab_end(&gt, 64), MIRC_INVALID);
    cr_assert_eq(xen_gnttab_end(&gt, 40), MIRC_INVALID, "never handed out");
    cr_assert_eq(xen_gnttab_free_count(&gt), 64 - GNTTAB_NR_RESERVED_ENTRIES);
}

Test(gnttab, end_is_refused_while_the_other_domain_maps_the_page)
{
    grant_ref_t r;
    cr_assert_eq(xen_gnttab_grant(&gt, 0, 7, 0, &r), MIRC_OK);
    table[r].flags |= GTF_writing; /* as Xen does while dom0 has it mapped */
    cr_assert_eq(xen_gnttab_end(&gt, r), MIRC_BUSY);
    cr_assert_neq(table[r].flags & GTF_permit_access, 0, "grant left in place");
    table[r].flags &= (uint16_t)~GTF_writing;
    table[r].flags |= GTF_reading;
    cr_assert_eq(xen_gnttab_end(&gt, r), MIRC_BUSY);
    table[r].flags &= (uint16_t)~GTF_reading;
    cr_assert_eq(xen_gnttab_end(&gt, r), MIRC_OK);
}

Test(gnttab, frames_beyond_32_bits_are_refused)
{
    grant_ref_t r;
    cr_assert_eq(xen_gnttab_grant(&gt, 0, 0x100000000ull, 0, &r), MIRC_INVALID);
    cr_assert_eq(xen_gnttab_free_count(&gt), 64 - GNTTAB_NR_RESERVED_ENTRIES);
}

Test(gnttab, init_rejects_tables_without_usable_entries_or_too_large)
{
    struct xen_gnttab g;
    cr_assert_eq(xen_gnttab_init(&g, table, GNTTAB_NR_RESERVED_ENTRIES), MIRC_INVALID);
    cr_assert_eq(xen_gnttab_init(&g, NULL, 64), MIRC_INVALID);
    cr_assert_eq(xen_gnttab_init(&g, table, XEN_GNTTAB_MAX_REFS + 1), MIRC_TOO_BIG);
}

Test(gnttab, free_list_survives_random_churn_without_duplicates)
{
    grant_ref_t live[56];
    unsigned nlive = 0, seed = 12345;
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        if (nlive < 56 && (seed >> 16) % 3) {
            cr_assert_eq(xen_gnttab_grant(&gt, 0, round, 0, &live[nlive]), MIRC_OK);
            for (unsigned i = 0; i < nlive; i++)
                cr_assert_neq(live[i], live[nlive], "reference %u handed out twice", live[i]);
            nlive++;
        } else if (nlive) {
            unsigned k = (seed >> 8) % nlive;
            cr_assert_eq(xen_gnttab_end(&gt, live[k]), MIRC_OK);
            live[k] = live[--nlive];
        }
        cr_assert_eq(xen_gnttab_free_count(&gt) + nlive, 64 - GNTTAB_NR_RESERVED_ENTRIES);
    }
}
