// zlib, for the mock upstream's gzip knob (and later the logger's inflate). Debian's zlib1g-dev.
#include <zlib.h>
