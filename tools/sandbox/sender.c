/* --emit-to: the webhooks the systems send when their data changes, sent by one
 * thread from a bounded queue so that a slow or absent receiver never holds a request
 * up. Each webhook's journal entry (EMIT) gets its outcome: status, or error. */
#include "sandbox.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
    char *kind, *url, *body, *id;
    const char *secret; /* borrowed from the configuration */
    json_t *entry;      /* the journal entry to note the outcome on (a reference) */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t more;
    struct item *ring;
    size_t cap, head, len, busy; /* busy: popped, being sent */
    bool running, stopping;
    pthread_t thread;
    char *to;
    json_t *secrets, *paths; /* system -> secret, kind -> path */
    pthread_mutex_t *journal_mu;
} sd = {.mu = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER};

static void item_free(struct item *it)
{
    free(it->kind);
    free(it->url);
    free(it->body);
    free(it->id);
    json_decref(it->entry);
}

static void *run(void *arg)
{
    (void)arg;
    CURL *curl = curl_easy_init(); /* one handle: its connection is kept alive */
    pthread_mutex_lock(&sd.mu);
    for (;;) {
        while (!sd.len && !sd.stopping)
            pthread_cond_wait(&sd.more, &sd.mu);
        if (sd.stopping)
            break;
        struct item it = sd.ring[sd.head];
        sd.head = (sd.head + 1) % sd.cap;
        sd.len--;
        sd.busy = 1;
        pthread_mutex_unlock(&sd.mu);
        char err[512] = "", *answer = NULL;
        struct emit_post p = {.kind = it.kind, .to = it.url, .body = it.body, .id = it.id,
                              .secret = it.secret};
        long status = sb_emit_post(curl, &p, &answer, err, sizeof err);
        pthread_mutex_lock(sd.journal_mu);
        json_object_set_new(it.entry, "status", json_integer(status));
        if (!status)
            json_object_set_new(it.entry, "error", json_string(err));
        pthread_mutex_unlock(sd.journal_mu);
        free(answer);
        item_free(&it);
        pthread_mutex_lock(&sd.mu);
        sd.busy = 0;
    }
    pthread_mutex_unlock(&sd.mu);
    curl_easy_cleanup(curl);
    return NULL;
}

int sb_sender_start(const char *to, json_t *secrets, json_t *paths, size_t cap,
                    pthread_mutex_t *journal_mu)
{
    sd.to = strdup(to);
    sd.secrets = json_incref(secrets);
    sd.paths = json_incref(paths);
    sd.cap = cap;
    sd.ring = calloc(cap, sizeof *sd.ring);
    sd.journal_mu = journal_mu;
    if (!sd.to || !sd.ring || pthread_create(&sd.thread, NULL, run, NULL) != 0)
        return -1;
    sd.running = true;
    return 0;
}

bool sb_sender_on(void)
{
    return sd.running;
}

char *sb_sender_url(const char *kind)
{
    const char *path = json_string_value(json_object_get(sd.paths, kind));
    if (!path)
        path = sb_emit_path(kind);
    size_t n = strlen(sd.to) + strlen(path ? path : "") + 1;
    char *u = malloc(n);
    if (u)
        snprintf(u, n, "%s%s", sd.to, path ? path : "");
    return u;
}

bool sb_sender_queue(const char *kind, char *url, char *body, const char *id, json_t *entry)
{
    const char *system = sb_emit_system(kind);
    pthread_mutex_lock(&sd.mu);
    bool room = sd.running && sd.len < sd.cap;
    if (room) {
        sd.ring[(sd.head + sd.len) % sd.cap] = (struct item){
            .kind = strdup(kind), .url = url, .body = body, .id = strdup(id),
            .secret = json_string_value(json_object_get(sd.secrets, system)),
            .entry = json_incref(entry)};
        sd.len++;
        pthread_cond_signal(&sd.more);
    }
    pthread_mutex_unlock(&sd.mu);
    if (!room) {
        free(url);
        free(body);
    }
    return room;
}

size_t sb_sender_pending(void)
{
    pthread_mutex_lock(&sd.mu);
    size_t n = sd.len + sd.busy;
    pthread_mutex_unlock(&sd.mu);
    return n;
}

void sb_sender_stop(void)
{
    if (sd.running) {
        pthread_mutex_lock(&sd.mu);
        sd.stopping = true;
        pthread_cond_broadcast(&sd.more);
        pthread_mutex_unlock(&sd.mu);
        pthread_join(sd.thread, NULL);
        for (; sd.len; sd.len--, sd.head = (sd.head + 1) % sd.cap)
            item_free(&sd.ring[sd.head]);
        sd.running = false;
    }
    free(sd.ring);
    free(sd.to);
    json_decref(sd.secrets);
    json_decref(sd.paths);
    sd.ring = NULL;
    sd.to = NULL;
    sd.secrets = sd.paths = NULL;
}
