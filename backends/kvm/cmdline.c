/* backends/kvm/cmdline.c: removing the words QEMU adds to the boot command line (pure,
 * unit-tested). */
#include <string.h>

#include "kvm.h"

#define VIRTIO_MMIO_WORD "virtio_mmio.device="

int kvm_strip_platform_words(int argc, char **argv)
{
    /* microvm appends its device list after whatever -append said; only that tail goes */
    while (argc > 1 && strncmp(argv[argc - 1], VIRTIO_MMIO_WORD, strlen(VIRTIO_MMIO_WORD)) == 0)
        argv[--argc] = NULL;
    return argc;
}
