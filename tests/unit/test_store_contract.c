/* test_store_contract.c: the store contract (store_contract.h) against the memory store, on the
 * controllable clock and on the real one. The LevelDB store runs it in test_store_leveldb.c. */
#include "store/memory.h"
#include "store_contract.h"
#include "tap.h"

static bool contract_ok(bool cond, const char *name)
{
    return ok(cond, "%s", name);
}

static struct rdv_store *make_memory(void *ctx, const struct rdv_clock *clock)
{
    (void)ctx;
    return rdv_store_memory_new(clock);
}

int main(void)
{
    struct rdv_store_contract c = { .make = make_memory, .ok = contract_ok };
    rdv_store_contract_run("memory", &c);
    /* The real-clock variant is what PostgreSQL runs: prove it on a store known to be right. */
    c.flags = RDV_CONTRACT_REAL_CLOCK;
    rdv_store_contract_run("memory, real clock", &c);
    return tap_done();
}
