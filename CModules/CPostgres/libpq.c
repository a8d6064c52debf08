// Loads libpq.so.5 on first use and fills kgb_libpq (see include/CPostgres.h for why it is not linked).
#include "CPostgres.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct kgb_libpq_functions kgb_libpq;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[512];

static void load(void) {
    // RTLD_LOCAL: libpq's symbols (and its dependencies') stay out of the global scope the binary exports into.
    void *library = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(failure, sizeof failure, "cannot load libpq (the libpq5 package): %s", dlerror());
        return;
    }
    struct kgb_libpq_functions table;
#define KGB_RESOLVE(name)                                                                                  \
    *(void **)&table.name = dlsym(library, #name);                                                         \
    if (!table.name) {                                                                                     \
        snprintf(failure, sizeof failure, "libpq.so.5 has no %s: %s", #name, dlerror());                   \
        return;                                                                                            \
    }
    KGB_RESOLVE(PQconnectdbParams)
    KGB_RESOLVE(PQfinish)
    KGB_RESOLVE(PQconninfoParse)
    KGB_RESOLVE(PQconninfoFree)
    KGB_RESOLVE(PQstatus)
    KGB_RESOLVE(PQerrorMessage)
    KGB_RESOLVE(PQsetNoticeProcessor)
    KGB_RESOLVE(PQexec)
    KGB_RESOLVE(PQexecParams)
    KGB_RESOLVE(PQprepare)
    KGB_RESOLVE(PQexecPrepared)
    KGB_RESOLVE(PQresultStatus)
    KGB_RESOLVE(PQresultErrorMessage)
    KGB_RESOLVE(PQresultErrorField)
    KGB_RESOLVE(PQntuples)
    KGB_RESOLVE(PQnfields)
    KGB_RESOLVE(PQgetvalue)
    KGB_RESOLVE(PQgetisnull)
    KGB_RESOLVE(PQclear)
    KGB_RESOLVE(PQfreemem)
#undef KGB_RESOLVE
    kgb_libpq = table;
}

int kgb_libpq_load(char *error, size_t error_size) {
    pthread_once(&once, load);
    if (failure[0] == 0) return 0;
    if (error && error_size > 0) snprintf(error, error_size, "%s", failure);
    return -1;
}
