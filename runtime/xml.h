/*
 * xml.h - just enough XML for S3's responses: find an element's text by tag name and decode the
 * five predefined entities and numeric character references. S3's documents are flat and
 * machine-written; this is not a general XML parser.
 * Ownership: cursors borrow the document; xml_text_copy writes into the caller's buffer.
 */
#ifndef ETL_XML_H
#define ETL_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/*
 * Finds the next <tag>...</tag> at or after *pos (a self-closing <tag/> gives an empty inner);
 * on success sets *inner to the raw content and *pos past the closing tag.
 */
bool xml_next(struct cur doc, const char *tag, size_t *pos, struct cur *inner);

/* Appends the decoded text of raw element content (entities resolved, CDATA kept as is). */
MUST_CHECK enum err_code xml_decode(struct cur raw, struct buf *out, struct err *err);

/* Decodes the first <tag> in doc into dst; false if absent, undecodable or too long. */
bool xml_text_copy(struct cur doc, const char *tag, char *dst, size_t cap);

#endif
