// libcrypto only (no TLS here): HMAC-SHA256 for the exchange logger's secret fingerprints. Debian's libssl-dev.
#include <openssl/hmac.h>
#include <openssl/evp.h>
