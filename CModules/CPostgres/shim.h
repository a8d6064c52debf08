// libpq (Debian libpq-dev), for the postgres:// log sink and for reading that store back. The PG_DIAG_* field
// codes are character-literal macros, which Swift does not import: the functions below name the fields it reads.
#include <libpq-fe.h>

static inline const char *kgb_PQresultSQLState(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_SQLSTATE);
}
static inline const char *kgb_PQresultPrimaryMessage(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
}
