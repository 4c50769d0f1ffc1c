#ifndef LAVA_RUNNER_CZLIBSHIM_SHIM_H
#define LAVA_RUNNER_CZLIBSHIM_SHIM_H

#include <zlib.h>

// deflateInit2 is a macro, which Swift cannot call; this wrapper passes the version and struct
// size the macro would.
static inline int lr_deflate_init_gzip(z_stream *stream, int level) {
  // windowBits 15 + 16 asks zlib for a gzip header and trailer instead of a zlib wrapper.
  return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

#endif
