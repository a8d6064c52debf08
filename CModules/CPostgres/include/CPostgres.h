// libpq, loaded when a postgres:// store is first used (kgb_libpq_load) instead of linked: linked, it and what
// Debian's build of it pulls in (Kerberos, LDAP, SASL, GnuTLS, ...) cost every kgb process ~3 MB of resident
// memory and most of the dynamic loader's start-up work, though few ever log to PostgreSQL.
//
// The few types and functions kgb uses, as libpq-fe.h declares them (libpq's ABI, stable across libpq.so.5). Each
// function below calls through the table kgb_libpq_load fills; calling one before a successful load is a bug.
#ifndef KGB_CPOSTGRES_H
#define KGB_CPOSTGRES_H

#include <stddef.h>

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
typedef struct _PQconninfoOption PQconninfoOption;
typedef unsigned int Oid;
typedef void (*PQnoticeProcessor)(void *arg, const char *message);

typedef enum { CONNECTION_OK, CONNECTION_BAD } ConnStatusType;
typedef enum { PGRES_EMPTY_QUERY = 0, PGRES_COMMAND_OK, PGRES_TUPLES_OK } ExecStatusType;

struct kgb_libpq_functions {
    PGconn *(*PQconnectdbParams)(const char *const *keywords, const char *const *values, int expand_dbname);
    void (*PQfinish)(PGconn *conn);
    PQconninfoOption *(*PQconninfoParse)(const char *conninfo, char **errmsg);
    void (*PQconninfoFree)(PQconninfoOption *options);
    ConnStatusType (*PQstatus)(const PGconn *conn);
    char *(*PQerrorMessage)(const PGconn *conn);
    PQnoticeProcessor (*PQsetNoticeProcessor)(PGconn *conn, PQnoticeProcessor proc, void *arg);
    PGresult *(*PQexec)(PGconn *conn, const char *query);
    PGresult *(*PQexecParams)(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                              const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                              int resultFormat);
    PGresult *(*PQprepare)(PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes);
    PGresult *(*PQexecPrepared)(PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues,
                                const int *paramLengths, const int *paramFormats, int resultFormat);
    ExecStatusType (*PQresultStatus)(const PGresult *res);
    char *(*PQresultErrorMessage)(const PGresult *res);
    char *(*PQresultErrorField)(const PGresult *res, int fieldcode);
    int (*PQntuples)(const PGresult *res);
    int (*PQnfields)(const PGresult *res);
    char *(*PQgetvalue)(const PGresult *res, int tup_num, int field_num);
    int (*PQgetisnull)(const PGresult *res, int tup_num, int field_num);
    void (*PQclear)(PGresult *res);
    void (*PQfreemem)(void *ptr);
};

extern struct kgb_libpq_functions kgb_libpq;

/// Loads libpq.so.5 once (later calls return the first answer; safe from any thread). 0 when loaded; otherwise -1
/// with dlerror's reason in `error`.
int kgb_libpq_load(char *error, size_t error_size);

static inline PGconn *PQconnectdbParams(const char *const *keywords, const char *const *values, int expand_dbname) {
    return kgb_libpq.PQconnectdbParams(keywords, values, expand_dbname);
}
static inline void PQfinish(PGconn *conn) { kgb_libpq.PQfinish(conn); }
static inline PQconninfoOption *PQconninfoParse(const char *conninfo, char **errmsg) {
    return kgb_libpq.PQconninfoParse(conninfo, errmsg);
}
static inline void PQconninfoFree(PQconninfoOption *options) { kgb_libpq.PQconninfoFree(options); }
static inline ConnStatusType PQstatus(const PGconn *conn) { return kgb_libpq.PQstatus(conn); }
static inline char *PQerrorMessage(const PGconn *conn) { return kgb_libpq.PQerrorMessage(conn); }
static inline PQnoticeProcessor PQsetNoticeProcessor(PGconn *conn, PQnoticeProcessor proc, void *arg) {
    return kgb_libpq.PQsetNoticeProcessor(conn, proc, arg);
}
static inline PGresult *PQexec(PGconn *conn, const char *query) { return kgb_libpq.PQexec(conn, query); }
static inline PGresult *PQexecParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                                     const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                                     int resultFormat) {
    return kgb_libpq.PQexecParams(conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat);
}
static inline PGresult *PQprepare(PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes) {
    return kgb_libpq.PQprepare(conn, stmtName, query, nParams, paramTypes);
}
static inline PGresult *PQexecPrepared(PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues,
                                       const int *paramLengths, const int *paramFormats, int resultFormat) {
    return kgb_libpq.PQexecPrepared(conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat);
}
static inline ExecStatusType PQresultStatus(const PGresult *res) { return kgb_libpq.PQresultStatus(res); }
static inline char *PQresultErrorMessage(const PGresult *res) { return kgb_libpq.PQresultErrorMessage(res); }
static inline int PQntuples(const PGresult *res) { return kgb_libpq.PQntuples(res); }
static inline int PQnfields(const PGresult *res) { return kgb_libpq.PQnfields(res); }
static inline char *PQgetvalue(const PGresult *res, int tup_num, int field_num) {
    return kgb_libpq.PQgetvalue(res, tup_num, field_num);
}
static inline int PQgetisnull(const PGresult *res, int tup_num, int field_num) {
    return kgb_libpq.PQgetisnull(res, tup_num, field_num);
}
static inline void PQclear(PGresult *res) { kgb_libpq.PQclear(res); }
static inline void PQfreemem(void *ptr) { kgb_libpq.PQfreemem(ptr); }

// The PG_DIAG_* field codes are character-literal macros, which Swift does not import: these name the fields read.
static inline const char *kgb_PQresultSQLState(const PGresult *result) {
    return kgb_libpq.PQresultErrorField(result, 'C');  /* PG_DIAG_SQLSTATE */
}
static inline const char *kgb_PQresultPrimaryMessage(const PGresult *result) {
    return kgb_libpq.PQresultErrorField(result, 'M');  /* PG_DIAG_MESSAGE_PRIMARY */
}

/* glibc's memmem (a GNU extension Swift's Glibc module leaves out): the row mapping looks for NUL escapes with it. */
void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
static inline const void *kgb_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}

#endif
