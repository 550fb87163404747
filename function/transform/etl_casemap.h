/*
 * etl_casemap.h - Unicode simple case mapping of one code point, as Java's
 * Character.toLowerCase and Character.toUpperCase give it (what Trino's lower() and upper() use):
 * one code point in, one out, no locale, no context (Σ always lowers to σ; ß does not upper to
 * SS). The tables are generated (scripts/gen-casemap.py); code points without a mapping are
 * returned as they are.
 * Ownership: plain values.
 */
#ifndef ETL_CASEMAP_H
#define ETL_CASEMAP_H

#include <stdint.h>

uint32_t etl_casemap_lower(uint32_t cp);
uint32_t etl_casemap_upper(uint32_t cp);

#endif
