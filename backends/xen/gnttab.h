/* backends/xen/gnttab.h: grant table v1 entries and the allocator of grant references. */
#ifndef MIRC_XEN_GNTTAB_H
#define MIRC_XEN_GNTTAB_H

/*
 * A grant lets another domain (a back end) map or copy one of our pages. In
 * grant table v1 the guest writes the entries itself into table frames that
 * the platform maps (XENMEM_add_to_physmap, XENMAPSPACE_grant_table) and
 * passes to xen_gnttab_init; no hypercall is needed per grant.
 *
 * References 0..GNTTAB_NR_RESERVED_ENTRIES-1 belong to the toolstack (console
 * and xenstore pages) and are never handed out. The rest are kept on a free
 * list; the allocator's memory is inside struct xen_gnttab (no allocation).
 * The caller owns the struct and the table memory; nothing here blocks.
 */

#include "xen_port.h"

#define XEN_GNTTAB_MAX_REFS 4096u /* 8 frames of 512 v1 entries */

struct xen_gnttab {
    grant_entry_v1_t *gt_table; /* the shared entries, gt_nrefs of them */
    uint32_t gt_nrefs;
    uint32_t gt_head; /* first free reference, or gt_nrefs when none is free */
    uint32_t gt_nfree;
    uint32_t gt_next[XEN_GNTTAB_MAX_REFS];    /* free list links */
    uint8_t gt_used[XEN_GNTTAB_MAX_REFS / 8]; /* bit set: reference handed out */
};

/*
 * Takes over `nrefs` entries at `table` (the mapped grant table frames, whose
 * reserved entries the toolstack may have filled). Entries beyond the reserved
 * ones are cleared. Returns MIRC_OK, MIRC_INVALID (NULL table, or no entry
 * beyond the reserved ones) or MIRC_TOO_BIG (nrefs > XEN_GNTTAB_MAX_REFS).
 */
mirc_status xen_gnttab_init(struct xen_gnttab *gt, grant_entry_v1_t *table, uint32_t nrefs);

/*
 * Grants domain `domid` access to guest frame `frame`, read-only when
 * `readonly` is non-zero, and stores the new reference in *ref. The entry is
 * complete (domid and frame visible) before its flags make it valid.
 * Returns MIRC_OK, MIRC_NO_MEMORY (every reference is in use) or MIRC_INVALID
 * (frame does not fit in a v1 entry's 32 bits).
 */
mirc_status xen_gnttab_grant(struct xen_gnttab *gt, domid_t domid, uint64_t frame, int readonly,
                             grant_ref_t *ref);

/*
 * Revokes a grant and frees its reference. Fails with MIRC_BUSY, leaving the
 * grant in place, while the other domain still has the page mapped
 * (GTF_reading/GTF_writing set by Xen): the page must then not be reused.
 * Returns MIRC_OK, MIRC_BUSY, or MIRC_INVALID (ref is reserved, out of range,
 * or not handed out: a double free).
 */
mirc_status xen_gnttab_end(struct xen_gnttab *gt, grant_ref_t ref);

/* Number of references that xen_gnttab_grant can still hand out. */
uint32_t xen_gnttab_free_count(const struct xen_gnttab *gt);

#endif
