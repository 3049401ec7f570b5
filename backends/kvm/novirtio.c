/* backends/kvm/novirtio.c: weak stand-ins so an image links without the virtio drivers. */

/*
 * The virtio drivers (virtio*.c, net.c, block.c) define these for real; a
 * strong definition replaces the weak one at link time. Without them, an
 * image with no devices works and one that declares devices stops at boot
 * naming the device (runtime/devices.c prints the line).
 */
#include "kvm.h"
#include "mirc/mirc.h"

__attribute__((weak)) void kvm_virtio_init(int argc, char **argv)
{
    (void)argc;
    (void)argv;
}

__attribute__((weak)) mirc_plat_set kvm_virtio_pending(void)
{
    return 0;
}

__attribute__((weak)) void kvm_virtio_flush(void)
{
}

__attribute__((weak)) void kvm_virtio_irq(int gsi)
{
    (void)gsi;
}

__attribute__((weak)) mirc_status mirc_plat_net_open(const char *name, unsigned index, int *handle,
                                                     mirc_net_info *info)
{
    (void)index;
    (void)handle;
    (void)info;
    mirc_log("net device '%s': this image has no virtio-net driver", name);
    return MIRC_UNSUPPORTED;
}

__attribute__((weak)) mirc_status mirc_plat_net_write(int handle, const void *buf, size_t len)
{
    (void)handle;
    (void)buf;
    (void)len;
    return MIRC_UNSUPPORTED;
}

__attribute__((weak)) mirc_status mirc_plat_net_read(int handle, void *buf, size_t size,
                                                     size_t *len)
{
    (void)handle;
    (void)buf;
    (void)size;
    (void)len;
    return MIRC_UNSUPPORTED;
}

__attribute__((weak)) mirc_status mirc_plat_block_open(const char *name, unsigned index,
                                                       int *handle, mirc_block_info *info)
{
    (void)index;
    (void)handle;
    (void)info;
    mirc_log("block device '%s': this image has no virtio-blk driver", name);
    return MIRC_UNSUPPORTED;
}

__attribute__((weak)) mirc_status mirc_plat_block_read(int handle, uint64_t offset, void *buf,
                                                       size_t len)
{
    (void)handle;
    (void)offset;
    (void)buf;
    (void)len;
    return MIRC_UNSUPPORTED;
}

__attribute__((weak)) mirc_status mirc_plat_block_write(int handle, uint64_t offset,
                                                        const void *buf, size_t len)
{
    (void)handle;
    (void)offset;
    (void)buf;
    (void)len;
    return MIRC_UNSUPPORTED;
}

__attribute__((weak)) mirc_status mirc_plat_block_flush(int handle)
{
    (void)handle;
    return MIRC_UNSUPPORTED;
}
