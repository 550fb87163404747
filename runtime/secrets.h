/*
 * secrets.h - Secrets Manager's GetSecretValue (JSON 1.1, X-Amz-Target secretsmanager.*), read
 * once at init for keys the function must not hold in its configuration (the PII key).
 * Ownership: the secret's bytes go to the caller's buf, which should be wiped after use
 *   (buf_cleanup_secure); nothing is logged but the ARN.
 * Errors: as aws_call; a secret without SecretString or SecretBinary is ERR_INVALID_INPUT.
 */
#ifndef ETL_SECRETS_H
#define ETL_SECRETS_H

#include "aws.h"
#include "buf.h"
#include "err.h"

/* Appends the secret's value to out: SecretString's UTF-8 bytes, or SecretBinary decoded. */
MUST_CHECK enum err_code
secrets_get_value(struct aws_client *c, const char *secret_id, struct buf *out, struct err *err);

#endif
