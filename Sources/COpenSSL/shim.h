#ifndef PORTIER_COPENSSL_SHIM_H
#define PORTIER_COPENSSL_SHIM_H
// Wrappers for the OpenSSL 3 macros and variadic functions that Swift cannot import.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

static inline EVP_PKEY *portier_rsa_generate(unsigned int bits) { return EVP_RSA_gen(bits); }

static inline long portier_bio_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

static inline int portier_bn_num_bytes(const BIGNUM *bn) { return BN_num_bytes(bn); }

/// Builds an RSA public key from big-endian modulus and exponent bytes (a JWK's n and e).
static inline EVP_PKEY *portier_rsa_public_from_components(const unsigned char *n, int nlen, const unsigned char *e, int elen) {
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, nlen, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bn_n == NULL || bn_e == NULL || bld == NULL) goto done;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n)) goto done;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) goto done;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0) goto done;
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return pkey;
}

/// Copies one big-number parameter ("n" or "e") of a key into a new buffer the caller frees with portier_free.
static inline unsigned char *portier_pkey_bn_param(const EVP_PKEY *pkey, const char *name, int *len) {
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, name, &bn) || bn == NULL) return NULL;
    int size = BN_num_bytes(bn);
    unsigned char *out = OPENSSL_malloc(size > 0 ? size : 1);
    if (out != NULL) *len = BN_bn2bin(bn, out);
    BN_free(bn);
    return out;
}

static inline void portier_free(void *p) { OPENSSL_free(p); }

/// RS256 verification of a SHA-256 digest (md: an explicitly fetched SHA-256, which spares
/// OpenSSL 3 an implicit algorithm fetch, with its locks, on every call) with a parsed public key (PKCS#1 v1.5).
static inline int portier_rs256_verify_digest(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *digest, size_t digestlen,
                                              const unsigned char *sig, size_t siglen) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    int ok = 0;
    if (ctx == NULL) return 0;
    if (EVP_PKEY_verify_init(ctx) > 0 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
        EVP_PKEY_CTX_set_signature_md(ctx, md) > 0) {
        ok = EVP_PKEY_verify(ctx, sig, siglen, digest, digestlen) == 1;
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/// RS256 signature of a SHA-256 digest with a private key; used by tests and benchmarks, not by the token server.
static inline int portier_rs256_sign_digest(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *digest, size_t digestlen,
                                            unsigned char *sig, size_t *siglen) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    int ok = 0;
    if (ctx == NULL) return 0;
    if (EVP_PKEY_sign_init(ctx) > 0 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
        EVP_PKEY_CTX_set_signature_md(ctx, md) > 0) {
        ok = EVP_PKEY_sign(ctx, sig, siglen, digest, digestlen) == 1;
    }
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/// An RS256 signing context for a private key, set up once (PKCS#1 v1.5 padding, SHA-256).
/// EVP_PKEY_sign may be called on it again and again with the same parameters, so a token costs
/// the RSA operation and not OpenSSL 3's algorithm fetch and setup. Not thread-safe: one per thread at a time.
static inline EVP_PKEY_CTX *portier_rs256_sign_context(EVP_PKEY *pkey, const EVP_MD *md) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL) return NULL;
    if (EVP_PKEY_sign_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    return ctx;
}

/// Signs a SHA-256 digest with a context from portier_rs256_sign_context.
static inline int portier_rs256_sign_with(EVP_PKEY_CTX *ctx, const unsigned char *digest, size_t digestlen,
                                          unsigned char *sig, size_t *siglen) {
    int ok = EVP_PKEY_sign(ctx, sig, siglen, digest, digestlen) == 1;
    if (!ok) ERR_clear_error();
    return ok;
}

#endif
