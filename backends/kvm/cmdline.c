/* backends/kvm/cmdline.c: removing the words QEMU adds to the boot command line (pure,
 * unit-tested). */
#include <string.h>

#include "kvm.h"

#define VIRTIO_MMIO_WORD "virtio_mmio.device="

#define BOOT_WORDS_MAX 64

static char *boot_words[BOOT_WORDS_MAX + 1];
int kvm_boot_argc;
char **kvm_boot_argv = boot_words;

int kvm_strip_platform_words(int argc, char **argv)
{
    /* keep the words for the virtio drivers' first lookup (kvm.h) */
    kvm_boot_argc = argc < BOOT_WORDS_MAX ? argc : BOOT_WORDS_MAX;
    memcpy(boot_words, argv, sizeof(char *) * (size_t)kvm_boot_argc);
    boot_words[kvm_boot_argc] = NULL;
    /* microvm appends its device list after whatever -append said; only that tail goes */
    while (argc > 1 && strncmp(argv[argc - 1], VIRTIO_MMIO_WORD, strlen(VIRTIO_MMIO_WORD)) == 0)
        argv[--argc] = NULL;
    return argc;
}
