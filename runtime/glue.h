/*
 * glue.h - the Glue Data Catalog over aws_call (JSON 1.1 protocol, X-Amz-Target: AWSGlue.<Op>,
 * SigV4 service "glue", endpoint AWS_ENDPOINT_URL_GLUE): GetDatabase, CreateDatabase, GetTable,
 * CreateTable, UpdateTable (VersionId, SkipArchive) and BatchCreatePartition. Requests and
 * errors go through awsjson (shared with DynamoDB and Secrets Manager), so retries, deadlines
 * and error codes are the DynamoDB client's.
 * The client knows nothing of rows: a TableInput or a PartitionInput list is JSON text the caller
 * renders; a table comes back as the answer's JSON.
 * Ownership: inputs are borrowed for the call; a glue_table owns its response body
 *   (glue_table_cleanup frees it) and `table` points into it.
 * Errors: ERR_OK or *err from the service ("EntityNotFoundException", "AlreadyExistsException",
 *   "ConcurrentModificationException", ...; test with glue_err_is). Not-found lookups are not
 *   errors: they set *found false.
 * Threads: as the aws_client used.
 */
#ifndef ETL_GLUE_H
#define ETL_GLUE_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "buf.h"
#include "err.h"
#include "json.h"

#define GLUE_MAX_RESPONSE_BYTES  (8 * 1024 * 1024) /* a table of thousands of columns */
#define GLUE_MAX_REQUEST_BYTES   (4 * 1024 * 1024)
#define GLUE_MAX_PARTITIONS_CALL 100 /* BatchCreatePartition: PartitionInputList max 100 */
#define GLUE_NAME_MAX            255 /* database and table names: 1-255 (Glue API, NameString) */
#define GLUE_VERSION_ID_MAX      256 /* VersionId: VersionString, 1-255 */

/* One table as GetTable returns it. */
struct glue_table {
    struct buf body;       /* the whole answer */
    struct json_val table; /* its "Table" object */
    char version_id[GLUE_VERSION_ID_MAX];
};

void glue_table_init(struct glue_table *t);
void glue_table_cleanup(struct glue_table *t);

/* GetDatabase {Name}; *found false on EntityNotFoundException. */
MUST_CHECK enum err_code
glue_get_database(struct aws_client *c, const char *name, bool *found, struct err *err);

/* CreateDatabase {DatabaseInput {Name, Description}}; AlreadyExistsException sets
 * *already_exists and is ERR_OK (another container made it first). */
MUST_CHECK enum err_code glue_create_database(struct aws_client *c,
                                              const char *name,
                                              const char *description,
                                              bool *already_exists,
                                              struct err *err);

/* GetTable {DatabaseName, Name}; *found false on EntityNotFoundException. A VersionId that is
 * not a plain string of 1 to 255 bytes is ERR_INVALID_INPUT (absent or null: version_id ""). */
MUST_CHECK enum err_code glue_get_table(struct aws_client *c,
                                        const char *database,
                                        const char *name,
                                        struct glue_table *out,
                                        bool *found,
                                        struct err *err);

/* CreateTable {DatabaseName, TableInput}; table_input is a JSON object. An existing table is
 * AlreadyExistsException (glue_err_is), left for the caller to merge into. */
MUST_CHECK enum err_code glue_create_table(struct aws_client *c,
                                           const char *database,
                                           struct cur table_input,
                                           struct err *err);

/* UpdateTable {DatabaseName, TableInput, SkipArchive?, VersionId?}: the whole definition is
 * replaced. With version_id (NULL or "": none), a table changed since that version fails with
 * ConcurrentModificationException: read it again, merge, retry. */
MUST_CHECK enum err_code glue_update_table(struct aws_client *c,
                                           const char *database,
                                           struct cur table_input,
                                           const char *version_id,
                                           bool skip_archive,
                                           struct err *err);

/* BatchCreatePartition {DatabaseName, TableName, PartitionInputList}: partition_inputs is a JSON
 * array of n PartitionInput objects (1 to GLUE_MAX_PARTITIONS_CALL). Partitions that already
 * exist count as created. Any other per-partition error fails the call, naming the first. */
MUST_CHECK enum err_code glue_batch_create_partition(struct aws_client *c,
                                                     const char *database,
                                                     const char *table,
                                                     struct cur partition_inputs,
                                                     size_t n,
                                                     struct err *err);

/* True if err came from the service with this code (e.g. "AlreadyExistsException"). */
bool glue_err_is(const struct err *err, const char *aws_code);

#endif
