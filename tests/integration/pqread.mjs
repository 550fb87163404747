// pqread.mjs - reads Parquet files with three independent readers and prints, per file, one JSON
// line: {"file", "schema": {column: type}, "rows": {"duckdb": [...], "arrow": [...],
// "hyparquet": [...]}}. Values are made comparable: strings as they are, binary as base64,
// timestamps as ISO-8601 UTC with milliseconds, int64 and decimals as their exact digits (text),
// lists as arrays, nulls as null.
// Readers: DuckDB (@duckdb/node-api), arrow-rs (parquet-wasm) through apache-arrow, hyparquet
// (with hyparquet-compressors for GZIP and ZSTD).
// Usage: node tests/integration/pqread.mjs FILE...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const duckdb = require('@duckdb/node-api');
const parquetWasm = require('parquet-wasm');
const arrow = require('apache-arrow');
const { parquetReadObjects, parquetMetadata, parquetSchema } = await import('hyparquet');
const { compressors } = await import('hyparquet-compressors');

const b64 = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64');
const iso = (ms) => new Date(Number(ms)).toISOString();

function decimalText(big, scale) {
  const neg = big < 0n;
  let s = (neg ? -big : big).toString();
  if (scale > 0) {
    s = s.padStart(scale + 1, '0');
    s = s.slice(0, s.length - scale) + '.' + s.slice(s.length - scale);
  }
  return (neg ? '-' : '') + s;
}

// The file's columns from DuckDB's parquet_schema: name -> STRING, BINARY, BOOLEAN, INT64,
// TIMESTAMP, DECIMAL(p,s), or LIST<...> of one of them.
async function schemaOf(con, file) {
  const reader = await con.runAndReadAll(
    `SELECT name, type, logical_type, converted_type, scale, precision, num_children
     FROM parquet_schema('${file}')`);
  const rows = reader.getRowObjectsJson();
  const out = {};
  const leaf = (r) => {
    if (r.converted_type === 'UTF8') return 'STRING';
    if (r.converted_type === 'TIMESTAMP_MILLIS') return 'TIMESTAMP';
    if (r.converted_type === 'DECIMAL') return `DECIMAL(${r.precision},${r.scale})`;
    if (r.type === 'BYTE_ARRAY') return 'BINARY';
    return r.type;
  };
  for (let i = 1; i < rows.length; i++) {
    const r = rows[i];
    if (r.converted_type === 'LIST') {
      out[r.name] = `LIST<${leaf(rows[i + 2])}>`;
      i += 2;
    } else {
      out[r.name] = leaf(r);
    }
  }
  return out;
}

function canon(type, v, conv) {
  if (v === null || v === undefined) return null;
  if (type.startsWith('LIST<')) {
    const el = type.slice(5, -1);
    return Array.from(v, (x) => canon(el, x, conv));
  }
  return conv(type, v);
}

function duckValue(type, v) {
  if (type === 'BINARY') return b64(v.bytes);
  if (type === 'TIMESTAMP') return iso(v.micros / 1000n);
  if (type.startsWith('DECIMAL') || type === 'INT64') return v.toString();
  return v;
}

async function readDuck(con, file, schema) {
  const reader = await con.runAndReadAll(`SELECT * FROM read_parquet('${file}', hive_partitioning = false)`);
  const names = reader.columnNames();
  return reader.getRows().map((row) => {
    const o = {};
    names.forEach((n, i) => {
      const v = row[i];
      o[n] = canon(schema[n], v && v.items !== undefined ? v.items : v, duckValue);
    });
    return o;
  });
}

function arrowValue(type, v) {
  if (type === 'BINARY') return b64(v);
  if (type === 'TIMESTAMP') return iso(v);
  if (type === 'INT64') return v.toString();
  if (type.startsWith('DECIMAL')) {
    const scale = Number(type.match(/,(\d+)\)/)[1]);
    // apache-arrow gives a decimal as Uint32Array words, least significant first.
    let big = 0n;
    for (let i = v.length - 1; i >= 0; i--) big = (big << 32n) | BigInt(v[i]);
    big = BigInt.asIntN(32 * v.length, big);
    return decimalText(big, scale);
  }
  return v;
}

function readArrow(bytes, schema) {
  const wasmTable = parquetWasm.readParquet(new Uint8Array(bytes));
  const table = arrow.tableFromIPC(wasmTable.intoIPCStream());
  const names = table.schema.fields.map((f) => f.name);
  const out = [];
  for (let r = 0; r < table.numRows; r++) {
    const o = {};
    for (const n of names) {
      const v = table.getChild(n).get(r);
      o[n] = canon(schema[n], v && v.toArray && schema[n].startsWith('LIST<') ? Array.from(v) : v, arrowValue);
    }
    out.push(o);
  }
  return out;
}

function hypValue(type, v) {
  if (type === 'BINARY') return b64(v);
  if (type === 'TIMESTAMP') return iso(v instanceof Date ? v.getTime() : v);
  if (type === 'INT64') return v.toString();
  return v;
}

async function readHyparquet(bytes, schema) {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows = await parquetReadObjects({ file, compressors, utf8: false });
  return rows.map((row) => {
    const o = {};
    for (const [n, v] of Object.entries(row)) {
      let val = v;
      if (schema[n] === 'STRING' && val instanceof Uint8Array) val = Buffer.from(val).toString('utf8');
      if (schema[n] === 'LIST<STRING>' && Array.isArray(val)) {
        val = val.map((x) => (x instanceof Uint8Array ? Buffer.from(x).toString('utf8') : x));
      }
      if (schema[n] && schema[n].startsWith('DECIMAL')) {
        o[n] = val === null ? null : 'hyparquet:' + String(val); // a Number: not exact past 15 digits
        continue;
      }
      o[n] = canon(schema[n], val, hypValue);
    }
    return o;
  });
}

const inst = await duckdb.DuckDBInstance.create(':memory:');
const con = await inst.connect();
for (const file of process.argv.slice(2)) {
  const bytes = readFileSync(file);
  const schema = await schemaOf(con, file);
  const rows = {
    duckdb: await readDuck(con, file, schema),
    arrow: readArrow(bytes, schema),
    hyparquet: await readHyparquet(bytes, schema),
  };
  process.stdout.write(JSON.stringify({ file, schema, rows }) + '\n');
}
