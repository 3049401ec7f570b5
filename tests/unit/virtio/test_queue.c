/* tests/unit/virtio/test_queue.c: split virtqueues against a device written here, on the ring
 * memory itself. */
#include <criterion/criterion.h>
#include <string.h>

#include "sim.h"
#include "virtio.h"

static unsigned notified;

static void count_notify(struct virtio_dev *dev, struct virtq *vq)
{
    (void)dev;
    (void)vq;
    notified++;
}

static const struct virtio_ops ops = { .notify = count_notify };
static struct virtio_dev dev = { .vd_ops = &ops };
static struct virtq vq;
static uint16_t dev_avail; /* the device's next avail entry */
static uint16_t dev_used;  /* the device's used index */

static void setup(uint16_t num)
{
    notified = 0;
    dev_avail = dev_used = 0;
    cr_assert_eq(virtq_alloc(&vq, &dev, 0, num), MIRC_OK);
}

static void teardown(void)
{
    virtq_free(&vq);
}

/* The device takes the next available head; returns the chain length it walked. */
static unsigned dev_take(uint16_t *head, uint32_t *bytes)
{
    cr_assert_neq(vq.vq_avail->idx, dev_avail, "nothing available");
    *head = vq.vq_avail->ring[dev_avail++ % vq.vq_num];
    unsigned n = 1;
    uint16_t i = *head;
    *bytes = 0;
    for (;;) {
        cr_assert_lt(i, vq.vq_num);
        *bytes += vq.vq_desc[i].len;
        if (!(vq.vq_desc[i].flags & VIRTQ_DESC_F_NEXT))
            return n;
        i = vq.vq_desc[i].next;
        cr_assert_leq(++n, vq.vq_num, "chain loops");
    }
}

static void dev_complete(uint16_t head, uint32_t len)
{
    vq.vq_used->ring[dev_used % vq.vq_num] = (struct virtq_used_elem){ head, len };
    vq.vq_used->idx = ++dev_used;
}

Test(queue, layout_matches_the_legacy_formula_for_every_size)
{
    for (unsigned num = 1; num <= VIRTQ_MAX; num <<= 1) {
        size_t used = (16 * num + 2 * (3 + num) + 4095) / 4096 * 4096;
        cr_assert_eq(virtq_used_offset((uint16_t)num), used, "num %u", num);
        cr_assert_eq(virtq_size((uint16_t)num) % 4096, 0);
        cr_assert_geq(virtq_size((uint16_t)num), used + 6 + 8 * num);
        setup((uint16_t)num);
        cr_assert_eq((uintptr_t)vq.vq_mem % 4096, 0);
        cr_assert_eq((char *)vq.vq_avail - (char *)vq.vq_desc, 16 * (long)num);
        cr_assert_eq((size_t)((char *)vq.vq_used - (char *)vq.vq_desc), used);
        teardown();
    }
}

Test(queue, alloc_rejects_sizes_that_are_not_powers_of_two)
{
    cr_assert_eq(virtq_alloc(&vq, &dev, 0, 0), MIRC_INVALID);
    cr_assert_eq(virtq_alloc(&vq, &dev, 0, 6), MIRC_INVALID);
    cr_assert_eq(virtq_alloc(&vq, &dev, 0, 2048), MIRC_INVALID);
}

Test(queue, chains_keep_readable_before_writable_and_their_token)
{
    setup(16);
    uint8_t a[10], b[20], c[30];
    struct virtq_seg seg[3] = { { (uintptr_t)a, 10 }, { (uintptr_t)b, 20 }, { (uintptr_t)c, 30 } };
    cr_assert_eq(virtq_add(&vq, seg, 2, 1, 77), MIRC_OK);
    uint16_t head;
    uint32_t bytes;
    cr_assert_eq(dev_take(&head, &bytes), 3);
    cr_assert_eq(bytes, 60);
    uint16_t i = head;
    cr_assert_eq(vq.vq_desc[i].addr, (uintptr_t)a);
    cr_assert_eq(vq.vq_desc[i].flags, VIRTQ_DESC_F_NEXT);
    i = vq.vq_desc[i].next;
    cr_assert_eq(vq.vq_desc[i].flags, VIRTQ_DESC_F_NEXT);
    i = vq.vq_desc[i].next;
    cr_assert_eq(vq.vq_desc[i].flags, VIRTQ_DESC_F_WRITE);
    cr_assert_eq(vq.vq_desc[i].addr, (uintptr_t)c);
    dev_complete(head, 30);
    uint32_t tok, len;
    cr_assert_eq(virtq_get(&vq, &tok, &len), MIRC_OK);
    cr_assert_eq(tok, 77);
    cr_assert_eq(len, 30);
    cr_assert_eq(virtq_get(&vq, &tok, &len), MIRC_AGAIN);
    teardown();
}

Test(queue, add_rejects_empty_and_oversized_chains)
{
    setup(4);
    struct virtq_seg seg[5] = { { 1, 1 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 1, 1 } };
    cr_assert_eq(virtq_add(&vq, seg, 0, 0, 0), MIRC_INVALID);
    cr_assert_eq(virtq_add(&vq, seg, 3, 2, 0), MIRC_INVALID);
    cr_assert_eq(vq.vq_avail->idx, 0);
    teardown();
}

Test(queue, wraps_around_the_16_bit_indices_over_200000_requests)
{
    setup(8);
    uint8_t buf[64];
    uint32_t next_tok = 0, want_tok = 0;
    for (unsigned round = 0; round < 200000; round++) {
        unsigned n = 1 + round % 3;
        struct virtq_seg seg[3] = { { (uintptr_t)buf, 1 },
                                    { (uintptr_t)buf, 2 },
                                    { (uintptr_t)buf, 4 } };
        cr_assert_eq(virtq_add(&vq, seg, n - 1, 1, next_tok++), MIRC_OK, "round %u", round);
        uint16_t head;
        uint32_t bytes;
        cr_assert_eq(dev_take(&head, &bytes), n);
        dev_complete(head, bytes);
        uint32_t tok, len;
        cr_assert_eq(virtq_get(&vq, &tok, &len), MIRC_OK);
        cr_assert_eq(tok, want_tok++);
        cr_assert_eq(len, n == 1 ? 1 : n == 2 ? 3 : 7);
        cr_assert_eq(vq.vq_nfree, 8);
    }
    cr_assert_eq(vq.vq_avail->idx, (uint16_t)200000);
    cr_assert_eq(vq.vq_last_used, (uint16_t)200000);
    teardown();
}

Test(queue, a_full_ring_refuses_without_side_effects_then_recovers)
{
    setup(8);
    uint8_t buf[4];
    struct virtq_seg seg[3] = { { (uintptr_t)buf, 1 },
                                { (uintptr_t)buf, 1 },
                                { (uintptr_t)buf, 1 } };
    cr_assert_eq(virtq_add(&vq, seg, 0, 3, 1), MIRC_OK);
    cr_assert_eq(virtq_add(&vq, seg, 0, 3, 2), MIRC_OK);
    cr_assert_eq(virtq_add(&vq, seg, 0, 3, 3), MIRC_AGAIN); /* 2 left */
    cr_assert_eq(vq.vq_avail->idx, 2);
    cr_assert_eq(vq.vq_nfree, 2);
    cr_assert_eq(virtq_add(&vq, seg, 0, 2, 4), MIRC_OK);
    cr_assert_eq(virtq_add(&vq, seg, 0, 1, 5), MIRC_AGAIN);
    uint16_t head;
    uint32_t bytes, tok, len;
    dev_take(&head, &bytes);
    dev_complete(head, 0);
    cr_assert_eq(virtq_get(&vq, &tok, &len), MIRC_OK);
    cr_assert_eq(tok, 1);
    cr_assert_eq(virtq_add(&vq, seg, 0, 3, 6), MIRC_OK);
    teardown();
}

Test(queue, out_of_order_completion_frees_the_right_chains)
{
    setup(8);
    uint8_t buf[4];
    struct virtq_seg seg[3] = { { (uintptr_t)buf, 1 },
                                { (uintptr_t)buf, 1 },
                                { (uintptr_t)buf, 1 } };
    static const unsigned lens[4] = { 1, 2, 3, 2 };
    uint16_t heads[4];
    for (unsigned k = 0; k < 4; k++) {
        cr_assert_eq(virtq_add(&vq, seg, 0, lens[k], 100 + k), MIRC_OK);
        uint32_t bytes;
        cr_assert_eq(dev_take(&heads[k], &bytes), lens[k]);
    }
    static const unsigned order[4] = { 3, 1, 0, 2 };
    for (unsigned k = 0; k < 4; k++) {
        dev_complete(heads[order[k]], order[k]);
        uint32_t tok, len;
        cr_assert_eq(virtq_get(&vq, &tok, &len), MIRC_OK);
        cr_assert_eq(tok, 100 + order[k]);
        cr_assert_eq(len, order[k]);
    }
    /* the free list is whole again: one chain of every descriptor fits */
    struct virtq_seg all[8];
    for (unsigned k = 0; k < 8; k++)
        all[k] = (struct virtq_seg){ (uintptr_t)buf, 1 };
    cr_assert_eq(virtq_add(&vq, all, 4, 4, 9), MIRC_OK);
    uint16_t head;
    uint32_t bytes;
    cr_assert_eq(dev_take(&head, &bytes), 8);
    teardown();
}

Test(queue, a_used_entry_for_a_chain_never_made_available_is_a_protocol_error)
{
    setup(8);
    uint8_t buf[4];
    struct virtq_seg seg = { (uintptr_t)buf, 4 };
    cr_assert_eq(virtq_add(&vq, &seg, 0, 1, 1), MIRC_OK);
    uint16_t head;
    uint32_t bytes, tok, len;
    dev_take(&head, &bytes);
    dev_complete((uint16_t)(head + 1), 4); /* a free descriptor */
    cr_assert_eq(virtq_get(&vq, &tok, &len), MIRC_IO);
    teardown();
    setup(8);
    cr_assert_eq(virtq_add(&vq, &seg, 0, 1, 1), MIRC_OK);
    vq.vq_used->idx = 5; /* five completions for one request */
    cr_assert_eq(virtq_get(&vq, &tok, &len), MIRC_IO);
    teardown();
    setup(8);
    cr_assert_eq(virtq_add(&vq, &seg, 0, 1, 1), MIRC_OK);
    dev_take(&head, &bytes);
    dev_complete(200, 4); /* outside the ring */
    cr_assert_eq(virtq_get(&vq, &tok, &len), MIRC_IO);
    teardown();
}

Test(queue, kicks_follow_the_event_index)
{
    setup(16);
    vq.vq_event_idx = 1;
    volatile uint16_t *avail_event = (volatile uint16_t *)&vq.vq_used->ring[16];
    uint8_t buf[4];
    struct virtq_seg seg = { (uintptr_t)buf, 4 };
    cr_assert_eq(virtq_kick(&vq), 0, "nothing added, nothing to say");
    *avail_event = 0; /* "tell me when entry 0 is available" */
    virtq_add(&vq, &seg, 1, 0, 0);
    virtq_add(&vq, &seg, 1, 0, 1);
    cr_assert_eq(virtq_unkicked(&vq), 2);
    cr_assert_eq(virtq_kick(&vq), 1);
    cr_assert_eq(notified, 1);
    cr_assert_eq(virtq_unkicked(&vq), 0);
    /* the device is still working (it has not moved avail_event): no notification */
    virtq_add(&vq, &seg, 1, 0, 2);
    cr_assert_eq(virtq_kick(&vq), 0);
    /* it asks for entry 4 onwards: entry 3 alone does not reach it, entry 4 does */
    *avail_event = 4;
    virtq_add(&vq, &seg, 1, 0, 3);
    cr_assert_eq(virtq_kick(&vq), 0);
    virtq_add(&vq, &seg, 1, 0, 4);
    cr_assert_eq(virtq_kick(&vq), 1);
    cr_assert_eq(notified, 2);
    teardown();
}

Test(queue, kicks_follow_the_no_notify_flag_without_event_index)
{
    setup(16);
    uint8_t buf[4];
    struct virtq_seg seg = { (uintptr_t)buf, 4 };
    vq.vq_used->flags = VIRTQ_USED_F_NO_NOTIFY;
    virtq_add(&vq, &seg, 1, 0, 0);
    cr_assert_eq(virtq_kick(&vq), 0);
    vq.vq_used->flags = 0;
    virtq_add(&vq, &seg, 1, 0, 1);
    virtq_add(&vq, &seg, 1, 0, 2);
    cr_assert_eq(virtq_kick(&vq), 1);
    cr_assert_eq(notified, 1);
    cr_assert_eq(vq.vq_notifies, 1);
    teardown();
}

Test(queue, interrupts_are_armed_and_suppressed_with_and_without_event_index)
{
    setup(16);
    virtq_intr_off(&vq);
    cr_assert_eq(vq.vq_avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    cr_assert_eq(virtq_intr_arm(&vq), 0);
    cr_assert_eq(vq.vq_avail->flags, 0);
    teardown();

    setup(16);
    vq.vq_event_idx = 1;
    volatile uint16_t *used_event = &vq.vq_avail->ring[16];
    uint8_t buf[4];
    struct virtq_seg seg = { (uintptr_t)buf, 4 };
    for (uint32_t k = 0; k < 3; k++) {
        virtq_add(&vq, &seg, 0, 1, k);
        uint16_t head;
        uint32_t bytes, tok, len;
        dev_take(&head, &bytes);
        dev_complete(head, 1);
        cr_assert_eq(virtq_get(&vq, &tok, &len), MIRC_OK);
    }
    cr_assert_eq(virtq_intr_arm(&vq), 0);
    cr_assert_eq(*used_event, 3, "interrupt at the next completion");
    /* a completion that raced with arming is reported */
    virtq_add(&vq, &seg, 0, 1, 9);
    uint16_t head;
    uint32_t bytes;
    dev_take(&head, &bytes);
    dev_complete(head, 1);
    cr_assert_eq(virtq_intr_arm(&vq), 1);
    teardown();
}
