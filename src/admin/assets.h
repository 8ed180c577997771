/* assets.h: the admin page's files (admin/ in the source tree), embedded at build time by
 * scripts/embed-assets.sh into assets_data.c, so the binary serves its page wherever it runs and
 * no install path or config key can point it at the wrong copy. */
#ifndef RDV_ADMIN_ASSETS_H
#define RDV_ADMIN_ASSETS_H

#include <stddef.h>

struct rdv_admin_asset {
    const char *path;         /* URL path: "/", "/admin.js", ... */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};

extern const struct rdv_admin_asset rdv_admin_assets[];
extern const size_t rdv_admin_nassets;

#endif
