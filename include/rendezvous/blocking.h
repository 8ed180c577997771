/* rendezvous/blocking.h: a blocking layer over rendezvous/client.h for simple programs.
 *
 * Each call runs the client's libev loop until its answer is in, so it must not be called while
 * that loop is running (not from a callback, not from another thread). Adverts are kept alive
 * only while the loop runs: call rendezvous_client_run() in the program's main loop, or run the
 * loop yourself.
 *
 *   struct rendezvous_client *c;
 *   rendezvous_client_new(NULL, &cfg, &c);           // the client owns its loop
 *   int64_t ttl;
 *   rendezvous_advertise_wait(c, "my-topic", 0, &ad, &ttl);
 *   struct rendezvous_peer_list *peers;
 *   rendezvous_find_peers_wait(c, "my-topic", 20, &peers);
 *   for (size_t i = 0; i < peers->n; i++) puts(peers->peers[i].peer_id);
 *   rendezvous_peer_list_free(peers);
 *   rendezvous_client_run(c, 60);                    // keep the advert registered for a minute
 *   rendezvous_client_free(c);
 */
#ifndef RENDEZVOUS_BLOCKING_H
#define RENDEZVOUS_BLOCKING_H

#include "rendezvous/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* rendezvous_advertise, then waits until every point has answered or failed once (at most about
 * twice the request timeout). Returns 0 if at least one point registered us, *ttl (may be NULL)
 * the smallest TTL granted; otherwise the last error (RENDEZVOUS_ERR_REFUSED,
 * RENDEZVOUS_ERR_UNAVAILABLE, ...), and the advert keeps retrying in the background all the same
 * (stop it with rendezvous_advert_stop). The advert reports no events: use rendezvous_advertise
 * for those. */
int rendezvous_advertise_wait(struct rendezvous_client *c, const char *ns, int64_t ttl, struct rendezvous_advert **out,
                              int64_t *granted_ttl);

/* A copy of a find_peers answer, owned by the caller. */
struct rendezvous_peer_list {
    struct rendezvous_peer *peers;
    size_t n;
};
/* rendezvous_find_peers, waiting for the answer. On success *out is a list to free with
 * rendezvous_peer_list_free (also when the answer is empty). On error *out is NULL. */
int rendezvous_find_peers_wait(struct rendezvous_client *c, const char *ns, int64_t limit,
                               struct rendezvous_peer_list **out);
void rendezvous_peer_list_free(struct rendezvous_peer_list *l);

/* Runs the client's loop for `seconds` (re-registrations and keepalives happen meanwhile), or,
 * with seconds <= 0, until something calls ev_break on the loop. */
int rendezvous_client_run(struct rendezvous_client *c, double seconds);

/* Runs the client's loop until no request is in flight at any point (such as the UNREGISTERs that
 * rendezvous_advert_stop sends in the std and waku1 dialects), or `seconds` pass (<= 0: about
 * twice the request timeout). Call it between stopping adverts and rendezvous_client_free to
 * unregister before leaving. 0, RENDEZVOUS_ERR_TIMEOUT, or RENDEZVOUS_ERR_CLOSED (freed meanwhile). */
int rendezvous_client_flush(struct rendezvous_client *c, double seconds);

#ifdef __cplusplus
}
#endif

#endif
