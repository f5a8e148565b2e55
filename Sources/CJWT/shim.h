#ifndef PORTIER_CJWT_SHIM_H
#define PORTIER_CJWT_SHIM_H
#include <stdlib.h>
#include <jwt.h>

/// libjwt 1.10 returns heap strings that the caller frees with free(3).
static inline void portier_jwt_free_string(char *s) { free(s); }

#endif
