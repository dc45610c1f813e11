/* A step's request to one of the org's connections, as http.request and notify make it:
 * built by the pure request builder (request.h: target, refusals, auth, headers, body,
 * sent_from/sent_to), then sent by the engine's one send call here: the write-ahead audit
 * row, one sending, same-origin redirects for reads only, the classification (http.h),
 * and the output {status, headers, body} (headers as sc_http_resp's; a UTF-8 byte order
 * mark before JSON is skipped). json_t as module.h: *output is a new reference, set
 * whenever an answer came. */
#ifndef SC_CALL_H
#define SC_CALL_H

#include "module.h"
#include "run/http.h"
#include "run/request.h"

#define SC_CALL_MAX_REDIRECTS 5 /* same-origin redirects a read follows */

/* Builds c (request.h) for the step and sends it with sc_call_send; a refusal that
 * belongs on the audit log is written there. A write reaching a shadowing connection
 * (org.h: shadow: true) is not sent: its audit row (outcome "shadowed", the stand-in's
 * status) and its record (store.h: sc_store_shadow_add; URL, headers and body with every
 * credential header and every secret value of the org redacted, sealed when the scenario
 * is confidential) are written, and *output is the stand-in {status, headers, body}. */
enum sc_status sc_call_connection(struct sc_step_ctx *ctx, const struct sc_call *c,
                                  json_t **output, char *err, size_t errlen);

/* The engine's one way out: sends a built request (its timeout cut to the step's
 * abandon time), a write with its audit row written ahead (just before the request
 * leaves; the send stops when it cannot be written) and completed after, at most once
 * (http.h), reads following up to max_redirects same-origin redirects, and the answer
 * classified (http.h). *output {status, headers, body} whenever an answer came, the body
 * parsed as parse says (auto, json, text, none); a failed answer's status, location,
 * body (not in a confidential scenario) and Retry-After are added to the step's error. */
enum sc_status sc_call_send(struct sc_step_ctx *ctx, const struct sc_request *req,
                            int max_redirects, const char *parse, json_t **output, char *err,
                            size_t errlen);

#endif
