// SQLite, for the sqlite: log sink. Debian libsqlite3-dev.
#include <sqlite3.h>
