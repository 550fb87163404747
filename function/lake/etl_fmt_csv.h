/*
 * etl_fmt_csv.h - CSV's field quoting (RFC 4180), shared by the CSV format and its tests.
 */
#ifndef ETL_FMT_CSV_H
#define ETL_FMT_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Appends one CSV field, quoted when it holds a comma, quote, CR or LF. */
MUST_CHECK enum err_code
etl_fmt_csv_field(struct buf *out, const uint8_t *p, size_t n, struct err *err);

#endif
