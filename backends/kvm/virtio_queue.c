/* backends/kvm/virtio_queue.c: split virtqueues: descriptor chains, used-ring polling, notification
 * and interrupt suppression. */
#include <string.h>

#include "virtio.h"
#include "virtio_port.h"

/*
 * The descriptor free list is threaded through vq_next, a private copy of the
 * links: the device only reads descriptors, but nothing the driver needs to
 * free a chain is taken from memory the device can reach.
 */

#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((size_t)(a)-1))

size_t virtq_used_offset(uint16_t num)
{
    return ALIGN_UP(sizeof(struct virtq_desc) * num + sizeof(uint16_t) * (3 + (size_t)num),
                    VIRTQ_ALIGN);
}

size_t virtq_size(uint16_t num)
{
    return virtq_used_offset(num) +
           ALIGN_UP(sizeof(uint16_t) * 3 + sizeof(struct virtq_used_elem) * (size_t)num,
                    VIRTQ_ALIGN);
}

static volatile uint16_t *used_event(const struct virtq *vq)
{
    return &vq->vq_avail->ring[vq->vq_num];
}

static volatile uint16_t *avail_event(const struct virtq *vq)
{
    return (volatile uint16_t *)&vq->vq_used->ring[vq->vq_num];
}

mirc_status virtq_alloc(struct virtq *vq, struct virtio_dev *dev, uint16_t index, uint16_t num)
{
    *vq = (struct virtq){ .vq_dev = dev, .vq_index = index, .vq_num = num };
    if (num == 0 || num > VIRTQ_MAX || (num & (num - 1)))
        return MIRC_INVALID;
    vq->vq_mem_size = virtq_size(num);
    vq->vq_mem = vio_dma_alloc(vq->vq_mem_size, VIRTQ_ALIGN);
    vq->vq_next = calloc(num, sizeof *vq->vq_next);
    vq->vq_len = calloc(num, sizeof *vq->vq_len);
    vq->vq_token = calloc(num, sizeof *vq->vq_token);
    if (!vq->vq_mem || !vq->vq_next || !vq->vq_len || !vq->vq_token) {
        virtq_free(vq);
        return MIRC_NO_MEMORY;
    }
    char *mem = vq->vq_mem;
    vq->vq_desc = (volatile struct virtq_desc *)mem;
    vq->vq_avail = (volatile struct virtq_avail *)(mem + sizeof(struct virtq_desc) * num);
    vq->vq_used = (volatile struct virtq_used *)(mem + virtq_used_offset(num));
    for (uint16_t i = 0; i < num; i++)
        vq->vq_next[i] = (uint16_t)(i + 1);
    vq->vq_free = 0;
    vq->vq_nfree = num;
    return MIRC_OK;
}

void virtq_free(struct virtq *vq)
{
    vio_dma_free(vq->vq_mem);
    free(vq->vq_next);
    free(vq->vq_len);
    free(vq->vq_token);
    *vq = (struct virtq){ 0 };
}

mirc_status virtq_add(struct virtq *vq, const struct virtq_seg *seg, unsigned nout, unsigned nin,
                      uint32_t token)
{
    unsigned n = nout + nin;
    if (n == 0 || n > vq->vq_num)
        return MIRC_INVALID;
    if (n > vq->vq_nfree)
        return MIRC_AGAIN;
    uint16_t head = vq->vq_free, i = head;
    for (unsigned k = 0; k < n; k++) {
        volatile struct virtq_desc *d = &vq->vq_desc[i];
        d->addr = seg[k].addr;
        d->len = seg[k].len;
        d->flags =
            (uint16_t)((k >= nout ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        d->next = vq->vq_next[i];
        i = vq->vq_next[i];
    }
    vq->vq_free = i;
    vq->vq_nfree = (uint16_t)(vq->vq_nfree - n);
    vq->vq_len[head] = (uint16_t)n;
    vq->vq_token[head] = token;
    vq->vq_avail->ring[vq->vq_avail_idx & (vq->vq_num - 1)] = head;
    vio_barrier(); /* descriptors and ring entry before the index (stores stay ordered on x86) */
    vq->vq_avail_idx++;
    vq->vq_avail->idx = vq->vq_avail_idx;
    return MIRC_OK;
}

int virtq_has_used(const struct virtq *vq)
{
    return vq->vq_used->idx != vq->vq_last_used;
}

mirc_status virtq_get(struct virtq *vq, uint32_t *token, uint32_t *len)
{
    uint16_t idx = vq->vq_used->idx;
    if (idx == vq->vq_last_used)
        return MIRC_AGAIN;
    if ((uint16_t)(idx - vq->vq_last_used) > virtq_inflight(vq))
        return MIRC_IO; /* more completions than requests */
    vio_barrier();      /* the entry after the index (loads stay ordered on x86) */
    volatile struct virtq_used_elem *e = &vq->vq_used->ring[vq->vq_last_used & (vq->vq_num - 1)];
    uint32_t id = e->id, l = e->len;
    if (id >= vq->vq_num || vq->vq_len[id] == 0)
        return MIRC_IO; /* not a chain we made available */
    uint16_t n = vq->vq_len[id], tail = (uint16_t)id;
    for (uint16_t k = 1; k < n; k++)
        tail = vq->vq_next[tail];
    vq->vq_next[tail] = vq->vq_free;
    vq->vq_free = (uint16_t)id;
    vq->vq_nfree = (uint16_t)(vq->vq_nfree + n);
    vq->vq_len[id] = 0;
    vq->vq_last_used++;
    *token = vq->vq_token[id];
    *len = l;
    return MIRC_OK;
}

int virtq_kick(struct virtq *vq)
{
    uint16_t now = vq->vq_avail_idx, old = vq->vq_kicked;
    if (now == old)
        return 0;
    vio_mb(); /* the new index is visible before we read what the device asked for */
    vq->vq_kicked = now;
    int need;
    if (vq->vq_event_idx) {
        uint16_t ev = *avail_event(vq);
        need = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
    } else {
        need = !(vq->vq_used->flags & VIRTQ_USED_F_NO_NOTIFY);
    }
    if (need) {
        vq->vq_dev->vd_ops->notify(vq->vq_dev, vq);
        vq->vq_notifies++;
    }
    return need;
}

void virtq_intr_off(struct virtq *vq)
{
    /*
     * With event indices the device ignores the flag; leaving used_event
     * behind the device's position has the same effect, since the device
     * interrupts only when its index crosses used_event.
     */
    if (!vq->vq_event_idx && !(vq->vq_avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT))
        vq->vq_avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
}

int virtq_intr_arm(struct virtq *vq)
{
    if (vq->vq_event_idx)
        *used_event(vq) = vq->vq_last_used;
    else if (vq->vq_avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT)
        vq->vq_avail->flags = 0;
    vio_mb(); /* the request is visible before we look at the used index again */
    return virtq_has_used(vq);
}
