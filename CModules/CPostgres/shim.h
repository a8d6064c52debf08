// libpq (Debian libpq-dev), for the postgres:// log sink and for reading that store back. The PG_DIAG_* field
// codes are character-literal macros, which Swift does not import: the functions below name the fields it reads.
#include <libpq-fe.h>
#include <string.h>

static inline const char *kgb_PQresultSQLState(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_SQLSTATE);
}
static inline const char *kgb_PQresultPrimaryMessage(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
}

/* glibc's memmem (a GNU extension Swift's Glibc module leaves out): the row mapping looks for NUL escapes with it. */
void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
static inline const void *kgb_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}
