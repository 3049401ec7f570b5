/* backends/xen/gnttab.c: grant table v1 entries and a free list of references. */
#include "gnttab.h"

static int used(const struct xen_gnttab *gt, uint32_t ref)
{
    return gt->gt_used[ref / 8] & (1u << (ref % 8));
}

static void set_used(struct xen_gnttab *gt, uint32_t ref, int on)
{
    if (on)
        gt->gt_used[ref / 8] |= (uint8_t)(1u << (ref % 8));
    else
        gt->gt_used[ref / 8] &= (uint8_t) ~(1u << (ref % 8));
}

mirc_status xen_gnttab_init(struct xen_gnttab *gt, grant_entry_v1_t *table, uint32_t nrefs)
{
    if (!gt || !table || nrefs <= GNTTAB_NR_RESERVED_ENTRIES)
        return MIRC_INVALID;
    if (nrefs > XEN_GNTTAB_MAX_REFS)
        return MIRC_TOO_BIG;
    gt->gt_table = table;
    gt->gt_nrefs = nrefs;
    memset(gt->gt_used, 0, sizeof gt->gt_used);
    /* free list in ascending order, so references are predictable in logs */
    for (uint32_t r = GNTTAB_NR_RESERVED_ENTRIES; r < nrefs; r++) {
        table[r].flags = 0;
        table[r].domid = 0;
        table[r].frame = 0;
        gt->gt_next[r] = r + 1;
    }
    gt->gt_head = GNTTAB_NR_RESERVED_ENTRIES;
    gt->gt_nfree = nrefs - GNTTAB_NR_RESERVED_ENTRIES;
    return MIRC_OK;
}

mirc_status xen_gnttab_grant(struct xen_gnttab *gt, domid_t domid, uint64_t frame, int readonly,
                             grant_ref_t *ref)
{
    if (frame > UINT32_MAX)
        return MIRC_INVALID;
    if (gt->gt_nfree == 0)
        return MIRC_NO_MEMORY;
    uint32_t r = gt->gt_head;
    MIRC_ASSERT(r < gt->gt_nrefs && !used(gt, r));
    gt->gt_head = gt->gt_next[r];
    gt->gt_nfree--;
    set_used(gt, r, 1);

    grant_entry_v1_t *e = &gt->gt_table[r];
    e->domid = domid;
    e->frame = (uint32_t)frame;
    xen_wmb(); /* Xen must see domid and frame before the entry becomes valid */
    __atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
                     __ATOMIC_RELEASE);
    *ref = r;
    return MIRC_OK;
}

mirc_status xen_gnttab_end(struct xen_gnttab *gt, grant_ref_t ref)
{
    if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= gt->gt_nrefs || !used(gt, ref))
        return MIRC_INVALID;
    grant_entry_v1_t *e = &gt->gt_table[ref];
    /* Xen sets GTF_reading/GTF_writing while mapped; clear flags only if neither is set */
    uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    do {
        if (flags & (GTF_reading | GTF_writing))
            return MIRC_BUSY;
    } while (
        !__atomic_compare_exchange_n(&e->flags, &flags, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    set_used(gt, ref, 0);
    gt->gt_next[ref] = gt->gt_head;
    gt->gt_head = ref;
    gt->gt_nfree++;
    return MIRC_OK;
}

uint32_t xen_gnttab_free_count(const struct xen_gnttab *gt)
{
    return gt->gt_nfree;
}
