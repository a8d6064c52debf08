// SQLite, for the sqlite: log sink and `kgb ui`. Debian libsqlite3-dev.
#include <sqlite3.h>

/* glibc's strcasestr (a GNU extension Swift's Glibc module leaves out): kgb ui's free-text search in records. */
char *strcasestr(const char *haystack, const char *needle);
static inline int kgb_contains_ignoring_case(const unsigned char *haystack, const unsigned char *needle) {
    return strcasestr((const char *)haystack, (const char *)needle) != 0;
}
