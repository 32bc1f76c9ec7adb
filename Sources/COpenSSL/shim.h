#ifndef TWINSLOT_COPENSSL_SHIM_H
#define TWINSLOT_COPENSSL_SHIM_H
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>

/* Macros and type-generic stack helpers that Swift cannot import. */
static inline void ts_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline long ts_BIO_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline STACK_OF(X509) *ts_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int ts_sk_X509_push(STACK_OF(X509) *s, X509 *x) { return sk_X509_push(s, x); }
static inline int ts_sk_X509_num(const STACK_OF(X509) *s) { return sk_X509_num(s); }
static inline X509 *ts_sk_X509_value(const STACK_OF(X509) *s, int i) { return sk_X509_value(s, i); }
static inline void ts_sk_X509_free(STACK_OF(X509) *s) { sk_X509_free(s); }
static inline void ts_sk_X509_pop_free(STACK_OF(X509) *s) { sk_X509_pop_free(s, X509_free); }
static inline int ts_sk_CMS_SignerInfo_num(STACK_OF(CMS_SignerInfo) *s) { return sk_CMS_SignerInfo_num(s); }
static inline CMS_SignerInfo *ts_sk_CMS_SignerInfo_value(STACK_OF(CMS_SignerInfo) *s, int i) { return sk_CMS_SignerInfo_value(s, i); }
/* Whether the error that ended a PEM read is "no start line": the end of the blocks, not a damaged one. */
static inline int ts_pem_error_is_end(void) {
    unsigned long e = ERR_peek_last_error();
    return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}
/* Revocation checked for every certificate of the chain, not only the leaf. */
static const unsigned long ts_X509_V_FLAG_CRL_CHECK_CHAIN = X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
static const unsigned long ts_XN_FLAG_RFC2253 = XN_FLAG_RFC2253;
static const unsigned int ts_CMS_BINARY = CMS_BINARY;
static const unsigned int ts_CMS_DETACHED = CMS_DETACHED;
static const unsigned int ts_CMS_NOSMIMECAP = CMS_NOSMIMECAP;
static const unsigned int ts_CMS_NO_SIGNER_CERT_VERIFY = CMS_NO_SIGNER_CERT_VERIFY;
#endif
