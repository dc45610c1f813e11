/* Pages of a list endpoint, followed one at a time: the `paginate:` of http.request and
 * polls, and a source of the reconcile module. A page iterator sends the step's GET
 * through the engine's one send path (call.h: the same headers and auth, the same
 * classification), retries a page that failed transiently, and hands out each page's
 * items, so a caller can stream a million records without holding them all.
 *
 * Styles (what says there is a next page):
 *   link       the response's Link header, rel="next" (RFC 8288; a relative target is
 *              resolved against the page's URL, RFC 3986 section 5)
 *   next_url   a URL in the body at `next` (resolved the same way)
 *   next_page  a page number in the body at `next`, sent back as the query parameter
 *              `param` (default "page")
 *   cursor     an opaque cursor in the body at `next`, sent back as `param` ("cursor")
 *   page       a counter sent as `param` ("page"), from `start` (default 1), until a page
 *              is empty or shorter than `limit`
 *   offset     `param` ("offset") from `start` (default 0) stepping by `limit` (required),
 *              until a page is empty or shorter than `limit`
 * A next page that is null, "", false, missing (or an empty page, for every style) ends
 * the list; so does `has_more` (a path to a boolean, as Stripe's) when false or null
 * (anything else there is a data error). `limit_param` (with `limit`) sends the page size
 * on each request the engine builds (every style but link and next_url, whose URLs carry
 * their own). A next URL must
 * stay under the connection's base URL (it would carry the connection's credentials).
 *
 * Guards: never a silent truncation. A list with more than `max_pages` pages (default
 * 1000) or more than `max_items` items (default 100000) fails with SC_ERR_LIMIT and a
 * message naming the guard and the counts; a next page whose URL was already fetched
 * fails with SC_ERR_DATA (the API loops). A page that fails transiently (connection,
 * 408/5xx, 429) is sent again up to `retries` times (default 2), `retry_interval` apart
 * (default 1s, or the 429's Retry-After when longer; on the engine's clock), never past
 * the step's time; a page that still fails ends the iteration with its status.
 *
 * Paths (`items`, `next`) are dotted names into the JSON body ("data.items",
 * "meta.next_cursor", "links.0.href": a number indexes an array, -1 its last element);
 * "" or absent `items`
 * means the body itself is the array.
 *
 * Ownership: json_t as module.h. sc_pages_open borrows the call and the paginate object
 * only for the call (it copies what it keeps); the iterator is freed by sc_pages_close. */
#ifndef SC_PAGES_H
#define SC_PAGES_H

#include "module.h"
#include "run/request.h"

#include <stddef.h>
#include <stdint.h>

/* The fields of a `paginate:` object, for a module's parameter table (.type =
 * SC_T_OBJECT, .fields = sc_pages_params): every module that pages reads the same
 * syntax. {0}-terminated. */
extern const struct sc_param sc_pages_params[];

/* Cross-field checks of a written paginate object (a `with` parameter named param of a
 * module's check callback): a field the style does not use, a style missing its `next`,
 * offset without `limit`, limit_param without limit, guards below 1. Reports through
 * sc_check_error at "param/field". */
void sc_pages_check(struct sc_check *c, const char *param, const json_t *paginate);

struct sc_pages;

/* Starts iterating the pages of call c (a GET; its query is the first page's, plus the
 * style's parameters) as paginate (a rendered object of sc_pages_params' fields) says,
 * for the step ctx. Sends nothing yet. NULL with err filled (a bad paginate value: a
 * config error; out of memory). */
struct sc_pages *sc_pages_open(struct sc_step_ctx *ctx, const struct sc_call *c,
                               const json_t *paginate, char *err, size_t errlen);

/* Fetches the next page. SC_OK with *items a new reference to the page's array (never
 * empty), or SC_OK with *items NULL when the list has ended; else the failure's status
 * with err filled ("page 3 of GET URL: ..."), *items NULL, and the iterator is spent
 * (every later call returns the same status and message). */
enum sc_status sc_pages_next(struct sc_pages *p, json_t **items, char *err, size_t errlen);

/* Pages fetched so far (answered ok), and the items they held. */
size_t sc_pages_count(const struct sc_pages *p);
size_t sc_pages_items(const struct sc_pages *p);

/* Frees the iterator; NULL is fine. */
void sc_pages_close(struct sc_pages *p);

/* Internal parts, exposed for the unit tests (tests/unit/test_pages.c). */

/* The target of the first link with relation rel (compared without case, among the
 * space-separated types of its rel parameter) in one or more Link header values (a
 * string, or an array of strings: the header as sc_http_resp keeps it), RFC 8288
 * section 3: "<uri>; param=value; rel="next", <uri2>; rel=last". New string to free, or
 * NULL when there is none. */
char *sc_pages_link(const json_t *link_header, const char *rel);

/* Borrowed: the value at a dotted path in v ("" or NULL: v itself), or NULL. */
json_t *sc_pages_at(const json_t *v, const char *path);

#endif
