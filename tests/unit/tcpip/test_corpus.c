/* The malformed-frame corpus (fuzz/gen_corpus) replayed in-process through the whole input path. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_netif.h"
#include "lwip/memp.h"
#include "lwip/stats.h"

#ifndef CORPUS_DIR
#error "CORPUS_DIR must name the generated corpus"
#endif

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

Test(corpus, every_malformed_frame_is_survived_and_the_stack_answers_after_each, .timeout = 120)
{
    static uint8_t frame[70000];
    struct dirent **names;
    char failed[4096] = "";
    fuzz_boot();
    cr_assert(fuzz_alive(), "not answering before the corpus");
    int pool = lwip_stats.memp[MEMP_PBUF_POOL]->used;
    int n = scandir(CORPUS_DIR, &names, NULL, by_name), files = 0, dead = 0;
    cr_assert_gt(n, 0, "no corpus in %s", CORPUS_DIR);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, names[i]->d_name);
        FILE *f = names[i]->d_name[0] == '.' ? NULL : fopen(path, "rb");
        if (f) {
            size_t len = fread(frame, 1, sizeof frame, f);
            fclose(f);
            fuzz_frame(frame, len, 1);
            files++;
            if (!fuzz_alive()) {
                dead++;
                if (strlen(failed) < sizeof failed - 80)
                    snprintf(failed + strlen(failed), sizeof failed - strlen(failed), " %s",
                             names[i]->d_name);
            }
        }
        free(names[i]);
    }
    free(names);
    cr_assert_gt(files, 1000, "only %d corpus files", files);
    cr_assert_eq(dead, 0, "no echo reply after%s", failed);
    /* a minute later, reassembly and ARP queues have let go of every pool buffer */
    fuzz_frame((const uint8_t *)"", 0, 60000);
    cr_assert(fuzz_alive());
    cr_assert_leq(lwip_stats.memp[MEMP_PBUF_POOL]->used, pool, "pool buffers leaked: %d -> %d",
                  pool, (int)lwip_stats.memp[MEMP_PBUF_POOL]->used);
}
