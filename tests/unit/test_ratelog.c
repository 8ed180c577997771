/* test_ratelog: src/util/ratelog.c: one line per period, and that line counts the ones held back. */
#include "util/ratelog.h"
#include "tap.h"

int main(void)
{
    struct rdv_ratelog r;
    rdv_ratelog_init(&r, 10);
    uint64_t held = 99;
    ok(rdv_ratelog_allow(&r, 0, &held) && held == 0, "the first line is written, nothing held back");
    int allowed = 0;
    for (int i = 1; i <= 1000; i++)
        allowed += rdv_ratelog_allow(&r, i * 0.009, &held); /* 1000 lines within 9 s */
    ok(allowed == 0, "1000 more within the period are held back (%d written)", allowed);
    ok(rdv_ratelog_allow(&r, 10, &held) && held == 1000, "the next period's line says 1000 were suppressed (%llu)",
       (unsigned long long)held);
    ok(!rdv_ratelog_allow(&r, 19.9, &held), "and starts a new period");
    ok(rdv_ratelog_allow(&r, 20, &held) && held == 1, "which counted its own (%llu)", (unsigned long long)held);
    return tap_done();
}
