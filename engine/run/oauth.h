/* OAuth2 access tokens of the org's connections (auth kind oauth2): the client
 * credentials grant (RFC 6749 section 4.4) and the refresh token grant (section 6) at the
 * connection's token_url, the client authenticated by HTTP Basic or in the form (section
 * 2.3.1). A token is cached per org and connection in this process (shared by the
 * daemon's workers under a lock; one fetch at a time per connection, the others wait for
 * it) and renewed refresh_margin before its expires_in runs out, on the engine's clock
 * (clock.h), and on demand after a 401. Token values are never logged, stored, audited
 * or put in an error. Ownership: a token handed out is a new string the caller wipes
 * and frees with sc_oauth_free. */
#ifndef SC_OAUTH_H
#define SC_OAUTH_H

#include "model/org.h"
#include "module.h"
#include "run/http.h"

#include <stdbool.h>

/* The access token to send through conn (of org org_name) in *token. stale: NULL for
 * the cached token (fetched or refreshed first when there is none or it is due), or the
 * token a request was refused with (401): a fresh one unless another worker already
 * replaced it. SC_OK, or SC_ERR_CONFIG (the endpoint refused: its RFC 6749 section 5.2
 * error and error_description in err; a secret that cannot be read), SC_ERR_CONNECTION
 * or SC_ERR_SERVER (transient), SC_ERR_RUNTIME (out of memory), err naming the
 * connection. h: the worker's HTTP client. */
enum sc_status sc_oauth_token(struct sc_http *h, const char *org_name,
                              const struct sc_org_conn *conn, const char *stale, char **token,
                              char *err, size_t errlen);
/* Wipes and frees a token from sc_oauth_token (NULL is fine). */
void sc_oauth_free(char *token);
/* Forgets every cached token (tests; a reload keeps them: same client, same tokens). */
void sc_oauth_reset(void);

#endif
